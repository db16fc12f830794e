// Battery, the bounded soak (`npm run battery`): minutes of mixed traffic over 100 tenants while keys are
// rotated and limits changed, against the gateway in its own workerd process. Asserts what must hold at
// any moment, not on average: no 5xx from the gateway, never more admitted in a minute window than the limit
// in force, a revoked secret refused, and the worker's memory flat. GATEWAY_SOAK_SECONDS shortens it.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import {
  type BatteryTenant,
  closeConnections,
  control,
  createInstance,
  createKey,
  createTenant,
  expectStatus,
  gatewayRequest,
  workerdRss,
} from '../process/control';
import { soakReport, type Timeline, windowBound } from './soak-ledger';

const SECONDS = Number(process.env.GATEWAY_SOAK_SECONDS ?? 300);
const TENANTS = 100;
const HOT_TENANTS = 10;
// Runs at least this long have a warm stretch of a minute to hold the last one against.
const FLAT_CHECK_SECONDS = 180;
// Modest on 2 shared cores: a paced closed loop, not a flood.
const CONNECTIONS = 8;
const TARGET_RPS = 150;
// The contract: a revoke is effective everywhere within one lease (≤ 1 s).
const REVOKE_GRACE_MS = 1_000;
const MB = 1024 * 1024;

type SoakTenant = BatteryTenant & { limits: Timeline; retired: { secret: string; at: number }[] };

afterAll(() => closeConnections());

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
// Hot tenants get low limits, so they are over them whatever throughput the shared machine allows.
const randomLimit = (hot: boolean) =>
  hot ? 5 + Math.floor(Math.random() * 26) : 20 + Math.floor(Math.random() * 181);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

let controlRetries = 0;
/**
 * Seeding and the operator's changes are the soak's means, not what it measures: on a shared machine a
 * Postgres connect can outlast its 5 s limit, and the control plane then rightly says 503
 * database_unavailable. Such a call is tried again (counted in the summary); nothing else is.
 */
async function operatorCall<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 4 || !String(err).includes('database_unavailable')) throw err;
      controlRetries++;
      await sleep(1_000 * attempt);
    }
  }
}

async function seedTenants(): Promise<SoakTenant[]> {
  const seedStart = Date.now();
  const instance = await operatorCall(() => createInstance());
  const tenants: SoakTenant[] = [];
  // Twenty at a time: seeding is not what is being measured (five at a time took 17 s of CI's soak step).
  for (let i = 0; i < TENANTS; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, TENANTS - i) }, async (_, j) => {
        const limit = randomLimit(i + j < HOT_TENANTS);
        const t = await operatorCall(() =>
          createTenant({ instance, rateLimit: { requests_per_minute: limit, requests_per_day: null } }),
        );
        return { ...t, limits: [{ from: 0, answeredAt: 0, limit }], retired: [] } satisfies SoakTenant;
      }),
    );
    tenants.push(...batch);
  }
  // Warm: each tenant's first request loads it from Postgres; the soak is about the steady state after.
  const coldAnswers: string[] = [];
  for (let i = 0; i < tenants.length; i += 10) {
    await Promise.all(
      tenants.slice(i, i + 10).map(async (t) => {
        const headers = { authorization: `Bearer ${t.key}` };
        const res = await gatewayRequest({ host: t.host, path: '/warm', headers });
        if (res.status !== 200) coldAnswers.push(`${res.status} ${res.body.slice(0, 300)}`);
      }),
    );
  }
  expect(coldAnswers).toEqual([]);
  console.log(`seeded and warmed ${TENANTS} tenants in ${Date.now() - seedStart} ms`);
  return tenants;
}

test('soak: mixed traffic, key rotations and limit changes over 100 tenants', async () => {
  const tenants = await seedTenants();
  const ledger = soakReport();
  const until = Date.now() + SECONDS * 1_000;
  const violations: string[] = [];

  // Traffic: hot tenants get half of it (well over their limits), the rest share the other half.
  const traffic = async () => {
    const interval = (CONNECTIONS * 1_000) / TARGET_RPS;
    while (Date.now() < until) {
      const pace = sleep(interval);
      const t = Math.random() < 0.5 ? tenants[Math.floor(Math.random() * HOT_TENANTS)] : pick(tenants);
      const roll = Math.random();
      const retired = t.retired.at(-1);
      let kind: 'get' | 'post' | 'bad' | 'none' | 'retired' =
        roll < 0.65 ? 'get' : roll < 0.8 ? 'post' : 'bad';
      if (roll >= 0.9) kind = retired ? 'retired' : 'none';
      const secret =
        kind === 'bad'
          ? `gw_${randomBytes(30).toString('base64url')}`
          : kind === 'retired'
            ? retired!.secret
            : t.key;
      const sentAt = Date.now();
      const res = await gatewayRequest({
        host: t.host,
        method: kind === 'post' ? 'POST' : 'GET',
        path: `/soak/${kind}`,
        headers: kind === 'none' ? {} : { authorization: `Bearer ${secret}` },
        body: kind === 'post' ? 'p'.repeat(1_024) : undefined,
      }).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
      const doneAt = Date.now();
      ledger.count(t.id, res.status, sentAt, doneAt);
      if (res.status === 0 || res.status >= 500)
        violations.push(`${res.status} ${kind} ${res.body.slice(0, 200)}`);
      if (res.status === 200 && kind !== 'get' && kind !== 'post') violations.push(`${kind} key admitted`);
      if (kind === 'retired' && retired && sentAt > retired.at + REVOKE_GRACE_MS && res.status !== 401) {
        violations.push(`a secret retired ${sentAt - retired.at} ms ago answered ${res.status}`);
      }
      await pace;
    }
  };

  // Operators at work: a rotation or a limit change every ~2 s, alternating.
  let rotations = 0;
  let limitChanges = 0;
  const operator = async () => {
    for (let round = 0; Date.now() < until - 3_000; round++) {
      await sleep(2_000);
      const t = round % 4 < 2 ? tenants[round % HOT_TENANTS] : pick(tenants);
      if (round % 2 === 0) {
        const old = t.key;
        if (round % 4 === 0) {
          // The rotate route: same key id, new secret, the old one dead at once.
          const body = await operatorCall(() =>
            expectStatus(
              control<{ secret: string }>('POST', `/v1/tenants/${t.id}/keys/${t.keyId}/rotate`),
              200,
              'key rotate',
            ),
          );
          t.key = body.secret;
        } else {
          // New key, then the old one revoked: traffic moves over first, as a careful operator does it.
          const fresh = await operatorCall(() => createKey(t.id));
          t.key = fresh.secret;
          await operatorCall(() =>
            expectStatus(control('DELETE', `/v1/tenants/${t.id}/keys/${t.keyId}`), 204, 'key revoke'),
          );
          t.keyId = fresh.id;
        }
        t.retired.push({ secret: old, at: Date.now() });
        rotations++;
      } else {
        const limit = randomLimit(tenants.indexOf(t) < HOT_TENANTS);
        const sentAt = Date.now();
        await operatorCall(() =>
          expectStatus(
            control('PATCH', `/v1/tenants/${t.id}`, {
              rate_limit: { requests_per_minute: limit, requests_per_day: null },
            }),
            200,
            'limit change',
          ),
        );
        // In force somewhere between the PATCH leaving and one lease after its answer: both ends recorded.
        t.limits.push({ from: sentAt, answeredAt: Date.now(), limit });
        limitChanges++;
      }
    }
  };

  const rss: { at: number; bytes: number }[] = [];
  const memory = async () => {
    while (Date.now() < until) {
      rss.push({ at: Date.now(), bytes: await workerdRss() });
      await sleep(1_000);
    }
  };

  const started = Date.now();
  await Promise.all([...Array.from({ length: CONNECTIONS }, traffic), operator(), memory()]);

  // Over-admission: per tenant, per minute window, the admitted requests surely in it vs its limit then.
  const overAdmitted: string[] = [];
  for (const t of tenants) {
    for (const [window, admitted] of ledger.admittedByWindow(t.id)) {
      const bound = windowBound(t.limits, window, REVOKE_GRACE_MS);
      if (admitted > bound) overAdmitted.push(`${t.slug} window ${window}: ${admitted} > ${bound}`);
    }
  }

  // Memory: the second stretch (warm) against the last; a minute each on the full run.
  const stretch = Math.min(60_000, (SECONDS * 1_000) / 5);
  const inStretch = (from: number, to: number) =>
    rss.filter((s) => s.at - started >= from && s.at - started < to).map((s) => s.bytes);
  const warm = median(inStretch(stretch, 2 * stretch));
  const last = median(inStretch(SECONDS * 1_000 - stretch, SECONDS * 1_000 + 1));
  const totals = ledger.totals();
  console.log(
    [
      `soak ${SECONDS} s over ${TENANTS} tenants: ${totals.requests} requests`,
      `${totals.admitted} admitted, ${totals.limited} limited (429), ${totals.unauthorized} refused (401)`,
      `${rotations} key rotations, ${limitChanges} limit changes, ${controlRetries} control calls retried on 503`,
      `latency ${JSON.stringify(ledger.latency())} ms`,
      `workerd RSS start ${(rss[0].bytes / MB).toFixed(1)} MB, warm median ${(warm / MB).toFixed(1)} MB, ` +
        `last median ${(last / MB).toFixed(1)} MB, end ${(rss.at(-1)!.bytes / MB).toFixed(1)} MB`,
    ].join('\n'),
  );

  expect(violations.slice(0, 10)).toEqual([]);
  expect(overAdmitted.slice(0, 10)).toEqual([]);
  // The soak must have exercised what it claims to.
  expect(totals.admitted).toBeGreaterThan(0);
  expect(totals.limited).toBeGreaterThan(0);
  expect(totals.unauthorized).toBeGreaterThan(0);
  expect(rotations).toBeGreaterThan(2);
  expect(limitChanges).toBeGreaterThan(2);
  if (SECONDS >= FLAT_CHECK_SECONDS) {
    // Flat: generous against GC swings (medians of a minute each), yet a leak of 1 KB per request — 45 MB
    // over a full run's ~45,000 requests — does not fit.
    expect(last - warm).toBeLessThan(40 * MB);
  } else {
    // A short run (CI's 60 s) is still warming up between its stretches (seen: +37 to +40 MB from the 12–24 s
    // median to the 48–60 s one, 9,000 requests), so flatness is the full run's to judge (npm run battery);
    // here the whole run's growth is bounded: seen 95 MB, and a leak of 10 KB per request would add 90 MB.
    expect(rss.at(-1)!.bytes - rss[0].bytes).toBeLessThan(150 * MB);
  }
});
