// (c) of the long tail (bench/tail.ts): keys revoked through isolate 1 while isolate 2 is polled with them
// every 10 ms, with other tenants in use meanwhile; the delay to the first 401 is measured both from the DELETE
// sent and from its answer (the contract's "acknowledged": DESIGN.md principle 2, within one feed poll).
import { firstUnauthorized, request } from './http';
import type { PacedRun } from './paced';
import { generatedTenant, KEYS_PER_TENANT } from './seed';

export type RevocationPlan = {
  count: number;
  spacingMs: number;
  timeoutMs: number;
  backgroundRate: number;
  adminKey: string;
  log: (line: string) => void;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const count = (n: number) => n.toLocaleString('en');

export type Revocations = {
  tenantsInUse: number;
  background: string;
  /** From the DELETE sent to the first 401 (p50, p99, max below are of these). */
  delays: number[];
  /** From the DELETE's answer, when the change was acknowledged, to the first 401. */
  fromAnswer: { p50: number | null; p99: number | null; max: number | null };
  /**
   * From the DELETE's answer to the sending of the last request still served with the key (0 when none was
   * sent after the answer): the contract's bound, no request served on a snapshot older than a change
   * acknowledged more than 1 s earlier, without the probe's own answer time.
   */
  lastServed: { p50: number | null; p99: number | null; max: number | null };
  /** Revocations whose key still worked when the timeout ran out. */
  missed: number;
  /** DELETE answers other than 204, and answers carrying `X-Gateway-Propagation: delayed`. */
  refused: string[];
  delayed: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
};

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** p50, p99 and max of ascending values. */
const spread = (sorted: number[]) => ({
  p50: percentile(sorted, 50),
  p99: percentile(sorted, 99),
  max: sorted.at(-1) ?? null,
});

export async function revoke(
  plan: RevocationPlan,
  urls: string[],
  inUse: number[],
  paced: (tenants: number[], rate: number, seconds: number) => Promise<PacedRun>,
): Promise<Revocations> {
  const { count: total, spacingMs, timeoutMs, backgroundRate, log } = plan;
  const [isolate1, isolate2] = urls;
  const tenants = Array.from({ length: total }, (_, i) => inUse[Math.floor((i * inUse.length) / total)]);
  log(
    `  revocation: ${total} keys revoked through isolate 1, ${spacingMs} ms apart, each polled every 10 ms through isolate 2, ` +
      `${count(inUse.length)} tenants in use at ${backgroundRate} req/s each …`,
  );
  const seconds = Math.ceil((1_000 + total * spacingMs + timeoutMs) / 1000);
  const background = paced(inUse, backgroundRate, seconds);
  await sleep(1_000);
  const refused: string[] = [];
  let delayed = 0;
  /** From the DELETE sent and from its answer (the contract's "acknowledged") to the first 401. */
  const one = async (
    n: number,
    i: number,
  ): Promise<{ sent: number; answered: number; served: number } | null> => {
    await sleep(i * spacingMs);
    const key = generatedTenant(n, KEYS_PER_TENANT);
    const poll = () => request(isolate2, { host: key.host, headers: bearer(key.secret) });
    const warm = await poll();
    if (warm.status !== 200) {
      refused.push(`${key.keyId}: ${warm.status} before the revocation`);
      return null;
    }
    let revokedAt = 0;
    const polling = firstUnauthorized(poll, timeoutMs + 200, () => revokedAt > 0);
    await sleep(100);
    revokedAt = performance.now();
    const deleted = await request(isolate1, {
      host: 'control.localhost',
      method: 'DELETE',
      path: `/v1/tenants/${key.id}/keys/${key.keyId}`,
      headers: bearer(plan.adminKey),
      fresh: true,
    });
    if (deleted.status !== 204)
      refused.push(`DELETE ${key.keyId}: ${deleted.status} ${deleted.body.slice(0, 120)}`);
    if (deleted.headers['x-gateway-propagation'] === 'delayed') delayed++;
    const first401 = await polling;
    if (first401 === null) return null;
    const served = first401.lastServedSentAt === null ? 0 : first401.lastServedSentAt - deleted.at;
    return { sent: first401.at - revokedAt, answered: first401.at - deleted.at, served };
  };
  const results = await Promise.all(tenants.map(one));
  await background;
  const seen = results.filter((r) => r !== null);
  const delays = seen.map((r) => r.sent).sort((x, y) => x - y);
  const fromAnswer = seen.map((r) => Math.max(0, r.answered)).sort((x, y) => x - y);
  const lastServed = seen.map((r) => Math.max(0, r.served)).sort((x, y) => x - y);
  const revocations: Revocations = {
    tenantsInUse: inUse.length,
    background: `${backgroundRate} req/s per tenant`,
    delays,
    missed: results.length - delays.length,
    refused,
    delayed,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    max: delays.at(-1) ?? null,
    fromAnswer: spread(fromAnswer),
    lastServed: spread(lastServed),
  };
  const ms = (v: number | null) => (v === null ? '—' : `${v.toFixed(0)} ms`);
  log(
    `  first 401 after the DELETE was sent: p50 ${ms(revocations.p50)}, p99 ${ms(revocations.p99)}, max ${ms(revocations.max)}; ` +
      `after its answer: p50 ${ms(revocations.fromAnswer.p50)}, p99 ${ms(revocations.fromAnswer.p99)}, max ${ms(revocations.fromAnswer.max)}; ` +
      `last request served with the key sent after the answer by: max ${ms(revocations.lastServed.max)}` +
      (revocations.missed ? `, ${revocations.missed} never within ${timeoutMs / 1000} s` : '') +
      (delayed ? `, ${delayed} answered X-Gateway-Propagation: delayed` : '') +
      (refused.length ? `; ${refused.length} refused (${refused[0]})` : ''),
  );
  return revocations;
}
