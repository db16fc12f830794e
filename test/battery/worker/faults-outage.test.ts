// Battery, Postgres stopped (DESIGN.md principle 1, "Usage", "Errors"): warm tenants keep flowing, cold
// ones and the control plane answer 503 (never 500), health says degraded, and everything — usage, waiting
// in the USAGE queue's retried deliveries, included — is whole again once Postgres returns, in the same worker. Runs in the battery-outage project
// (own Postgres and database switch), one file at a time, since it takes the database away.

import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { advanceClock } from '../../worker/clock';
import { api, errorCode } from '../../worker/control-client';
import {
  awayFromMinuteEnd,
  codeOf,
  hit,
  limit,
  limitedTenant,
  sleep,
  usageReaches,
} from '../../worker/gate-helpers';
import { gatewayFetch, type SeededTenant, seedTenant } from '../../worker/helpers';
import { sendUsageDuringOutage } from '../../worker/usage-helpers';

async function database(state: 'up' | 'down') {
  const res = await fetch(`${env.TEST_CONTROL_URL}/database/${state}`, { method: 'POST' });
  expect(res.status).toBe(204);
}

afterEach(() => database('up'));

/** Polls `probe` until it is true or `withinMs` has passed; how long it took, or -1. */
async function recoversWithin(probe: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if (await probe().catch(() => false)) return Date.now() - started;
    await sleep(200);
  }
  return -1;
}

describe('battery: Postgres stopped', () => {
  test('32 warm tenants 100% served, control plane 503 database_unavailable, health degraded, recovery', async () => {
    const warm: SeededTenant[] = [
      await limitedTenant({ rateLimit: limit(100_000) }),
      await limitedTenant({ rateLimit: limit(50_000), limits: { on_gate_error: 'open' } }),
      await seedTenant(),
    ];
    for (const t of warm) expect((await hit(t, '/warm')).status).toBe(200);

    await database('down');
    // Control reads and writes alike: the database's absence is named, never a 500.
    const control = await Promise.all([
      api('GET', '/v1/tenants'),
      api('GET', `/v1/tenants/${warm[0].tenantId}`),
      api('POST', '/v1/instances', { body: { name: 'during-outage', upstreams: [env.TEST_UPSTREAM_URL] } }),
      api('PATCH', `/v1/tenants/${warm[0].tenantId}`, { body: { settings: { a: 1 } } }),
      api('GET', `/v1/tenants/${warm[0].tenantId}/usage`),
    ]);
    for (const answer of control) {
      expect(answer.status).toBe(503);
      expect(errorCode(answer)).toBe('database_unavailable');
    }
    const health = await api<{ status: string; database: string }>('GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'degraded', database: 'unavailable' });

    // Four workers of traffic over several lease lifetimes (≤ 1 s each): every lease renewal happens with
    // Postgres gone. Every request must be served, not most.
    const statuses = new Map<number, number>();
    let sent = 0;
    const until = Date.now() + 4_500;
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        for (let i = 0; Date.now() < until; i++) {
          const t = warm[(worker + i) % warm.length];
          const res = await hit(
            t,
            `/during/${i}`,
            i % 3 === 0 ? { init: { method: 'POST', body: 'p' } } : {},
          );
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          sent++;
        }
      }),
    );
    console.log(`served during the outage: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(sent).toBeGreaterThan(20);
    expect(Object.fromEntries(statuses)).toEqual({ 200: sent });

    await database('up');
    // Recovery is automatic: no restart, no operator action; the health probe and a control write recover.
    const healthyAfter = await recoversWithin(
      async () => (await api<{ status: string }>('GET', '/v1/health')).body.status === 'ok',
      10_000,
    );
    expect(healthyAfter).toBeGreaterThanOrEqual(0);
    const patched = await api('PATCH', `/v1/tenants/${warm[0].tenantId}`, { body: { settings: { a: 1 } } });
    expect(patched.status).toBe(200);
    for (const t of warm) expect((await hit(t, '/after')).status).toBe(200);
  }, 60_000);

  test('33 Postgres stopped: a cold tenant gets 503, never a 500, whatever the host', async () => {
    const cold = await seedTenant();
    const coldWithKey = await seedTenant();
    await database('down');
    // Known-but-cold tenants, by slug and by instance subdomain, with and without a key.
    const known = [
      await hit(cold),
      await hit(coldWithKey, '/x', { key: null }),
      await gatewayFetch(`http://${cold.slug}.${cold.instance}.localhost/x`, {
        headers: { authorization: `Bearer ${cold.key}` },
      }),
    ];
    for (const res of known) {
      expect(res.status).toBe(503);
      expect(await codeOf(res)).toBe('database_unavailable');
    }
    // Any host at all: the gateway cannot tell unknown from cold without the database, so it says so
    // (503) — or rejects the host itself (400) — but never fails (500) or leaks internals.
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
        fc.constantFrom('', '.instance1', '.nosuchinstance'),
        fc.constantFrom('GET', 'POST'),
        async (label, instance, method) => {
          const res = await gatewayFetch(`http://${label}${instance}.localhost/p`, {
            method,
            body: method === 'POST' ? 'x' : undefined,
          });
          const text = await res.text();
          expect([400, 503]).toContain(res.status);
          const body = JSON.parse(text) as { error: { code: string } };
          expect(body.error.code).toBe(res.status === 503 ? 'database_unavailable' : 'invalid_host');
          expect(text).not.toMatch(/stack|select |postgres|at async/i);
        },
      ),
      { numRuns: 30 },
    );

    await database('up');
    const servedAfter = await recoversWithin(async () => (await hit(cold)).status === 200, 10_000);
    expect(servedAfter).toBeGreaterThanOrEqual(0);
  }, 60_000);

  test('37 usage recorded while Postgres is down is complete after it returns', async () => {
    // Small per-minute limit, so some requests are refused by the gate during the outage, too.
    const t = await limitedTenant({ rateLimit: limit(8) });
    // The plan below takes ~8 s and must fall in one minute window for the counts to be known.
    await awayFromMinuteEnd(15_000);
    const first = await hit(t, '/warm');
    let bytesOut = (await first.arrayBuffer()).byteLength;
    let bytesIn = 0;

    await database('down');
    const counted = {
      requests: 1,
      allowed: 1,
      rate_limited: 0,
      unauthorized: 0,
      status_2xx: 1,
      status_4xx: 0,
    };
    const plan: { path: string; key?: null; body?: string }[] = [
      { path: '/a', body: 'x'.repeat(1_000) },
      { path: '/status/404' },
      { path: '/b', key: null },
      { path: '/bytes/20000' },
      { path: '/c', body: 'y'.repeat(3_000) },
      { path: '/d', key: null },
      { path: '/e' },
      { path: '/f' },
      { path: '/g' },
      { path: '/h' },
      { path: '/i' },
      { path: '/j' },
    ];
    // Spread over several seconds: lease renewals and usage sends (every 5 s, scaled) happen mid-outage.
    for (const step of plan) {
      const res = await hit(t, step.path, {
        key: step.key,
        init: step.body ? { method: 'POST', body: step.body } : undefined,
      });
      const length = (await res.arrayBuffer()).byteLength;
      counted.requests++;
      if (res.status === 401) counted.unauthorized++;
      else if (res.status === 429) counted.rate_limited++;
      else {
        counted.allowed++;
        bytesOut += length;
        bytesIn += step.body?.length ?? 0;
      }
      if (res.status === 200) counted.status_2xx++;
      else counted.status_4xx++;
      // The gateway's clock moves on between requests, so leases (1 s) are renewed mid-outage.
      advanceClock(400);
    }
    // 8 allowed per minute: the warm-up and 7 of the plan's 10 keyed requests; 2 without a key.
    expect(counted).toMatchObject({ allowed: 8, rate_limited: 3, unauthorized: 2 });
    // What is still batched, sent now rather than waited for: the queue takes it, and its consumer's
    // writes fail (as the batches sent mid-plan did) until Postgres is back.
    await sendUsageDuringOutage();

    await database('up');
    const expected = { ...counted, bytes_in: bytesIn, bytes_out: bytesOut, status_5xx: 0 };
    const totals = await usageReaches(t.tenantId, expected, 20_000);
    expect(totals).toMatchObject(expected);
  }, 90_000);
});
