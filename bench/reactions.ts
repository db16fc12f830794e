// Accuracy and reaction figures: how many of a burst a 100/min limit admits, how long a revoked key keeps
// working in the isolate that revoked it (the long tail's revocation across isolates: bench/tail.ts).
import type pg from 'pg';
import { firstUnauthorized, request } from './http';
import type { SeededTenant } from './seed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

export type Burst = { sent: number; admitted: number; limited: number; other: number };

/** `count` requests at once against a tenant limited to 100/min, inside one calendar minute. */
export async function burstAgainstLimit(url: string, tenant: SeededTenant, count: number): Promise<Burst> {
  // Warm the tenant's snapshot with a wrong key: refused before the limiter, so no budget is spent.
  await request(url, { host: tenant.host, headers: bearer('gw_wrong_key_000000000000000000000000000') });
  // A burst that straddles a minute boundary could rightly be admitted twice.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await sleep(60_000 - intoMinute + 500);
  const answers = await Promise.all(
    Array.from({ length: count }, () =>
      request(url, { host: tenant.host, headers: bearer(tenant.secret), fresh: true }).catch(() => null),
    ),
  );
  const admitted = answers.filter((a) => a && a.status < 400).length;
  const limited = answers.filter((a) => a?.status === 429).length;
  return { sent: count, admitted, limited, other: count - admitted - limited };
}

export type Revocation = { ms: number | null; via: string };

/**
 * A client polls every 10 ms with a key; the key is revoked with `DELETE /v1/tenants/:t/keys/:id`, or,
 * while the control API has no such route, in SQL (revoked_at and a version bump, what the API will do).
 * Answers the time from sending the revocation to the first 401 the client sees.
 */
export async function revocationDelay(
  url: string,
  tenant: SeededTenant,
  adminKey: string,
  client: pg.Client,
  timeoutMs: number,
): Promise<Revocation> {
  const poll = () => request(url, { host: tenant.host, headers: bearer(tenant.secret) });
  const warm = await poll();
  if (warm.status !== 200)
    throw new Error(`the key to revoke does not work before revocation (${warm.status})`);
  let revokedAt = 0;
  const polling = firstUnauthorized(poll, timeoutMs, () => revokedAt > 0);
  await sleep(100);
  revokedAt = performance.now();
  const deleted = await request(url, {
    host: 'control.localhost',
    method: 'DELETE',
    path: `/v1/tenants/${tenant.id}/keys/${tenant.keyId}`,
    headers: bearer(adminKey),
  });
  let via = 'DELETE /v1/tenants/:t/keys/:id';
  if (deleted.status !== 204) {
    await client.query('update api_keys set revoked_at = now() where id = $1', [tenant.keyId]);
    await client.query('update tenants set version = version + 1, updated_at = now() where id = $1', [
      tenant.id,
    ]);
    via = `SQL (revoked_at + version bump): the control API answered ${deleted.status} to the DELETE`;
  }
  const first401 = await polling;
  return { ms: first401 === null ? null : first401.at - revokedAt, via };
}
