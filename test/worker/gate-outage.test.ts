// Postgres down (DESIGN.md principle 1, "Usage"): warm tenants keep flowing through their TenantGate, the
// control plane answers 503, usage waits in the USAGE queue (its deliveries retried) and is complete once
// Postgres is back — all without restarting the worker. Runs in its own vitest project (own Postgres), since
// it takes the database away.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, test } from 'vitest';
import { advanceClock } from './clock';
import { api, errorCode } from './control-client';
import { codeOf, hit, limit, limitedTenant, usageReaches, usageTotals } from './gate-helpers';
import { seedTenant } from './helpers';
import { batchRecorded, deliver, sendUsageDuringOutage, today, usageMessage } from './usage-helpers';

async function database(state: 'up' | 'down') {
  const res = await fetch(`${env.TEST_CONTROL_URL}/database/${state}`, { method: 'POST' });
  expect(res.status).toBe(204);
}

afterEach(() => database('up'));

describe('Postgres stopped', () => {
  test('warm tenants are served, the control plane says 503, usage is complete after the restart', async () => {
    const warm = await limitedTenant({ rateLimit: limit(1_000) });
    const unlimited = await seedTenant();
    const cold = await seedTenant();
    expect((await hit(warm)).status).toBe(200);
    expect((await hit(unlimited)).status).toBe(200);

    await database('down');
    const health = await api<{ status: string; database: string }>('GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'degraded', database: 'unavailable' });
    const control = await api('GET', `/v1/tenants/${warm.tenantId}`);
    expect(control.status).toBe(503);
    expect(errorCode(control)).toBe('database_unavailable');
    const coldAnswer = await hit(cold);
    expect(coldAnswer.status).toBe(503);
    expect(await codeOf(coldAnswer)).toBe('database_unavailable');

    // Several lease lifetimes: each renewal comes from the gate's own storage, not from Postgres.
    let served = 0;
    let refused = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) {
        const res = await hit(warm);
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit-policy')).toBe('"minute";q=1000;w=60');
        served++;
      }
      expect((await hit(warm, '/x', { key: null })).status).toBe(401);
      refused++;
      expect((await hit(unlimited)).status).toBe(200);
      // Past the lease's life on the gateway's clock: the next round renews it.
      advanceClock(1_100);
    }
    // The isolate's batch, sent now rather than waited for: the queue takes it, and its consumer's write
    // fails (its connection refused) until Postgres is back, the delivery retried with back-off.
    await sendUsageDuringOutage();

    await database('up');
    const restored = Date.now();
    const expected = { requests: 1 + served + refused, allowed: 1 + served, unauthorized: refused };
    expect(await usageReaches(warm.tenantId, expected, 15_000)).toMatchObject(expected);
    console.log(`usage complete ${Date.now() - restored} ms after Postgres came back`);
    expect(await usageReaches(unlimited.tenantId, { requests: 5, allowed: 5 })).toMatchObject({
      requests: 5,
    });

    // Everything else recovers too, in the same worker.
    expect((await api('GET', `/v1/tenants/${warm.tenantId}`)).status).toBe(200);
    expect((await hit(cold)).status).toBe(200);
    expect((await api<{ status: string }>('GET', '/v1/health')).body.status).toBe('ok');
  }, 60_000);

  test('a delivery whose transaction fails is retried with back-off; every count arrives once Postgres is back', async () => {
    const t = await seedTenant();
    const counts = { requests: 3, allowed: 2, unauthorized: 1, status_2xx: 2, status_4xx: 1, bytes_out: 40 };
    const message = usageMessage([
      {
        tenant: t.tenantId,
        key: t.keyId,
        date: today(),
        counts: { requests: 2, allowed: 2, status_2xx: 2, bytes_out: 40 },
      },
      {
        tenant: t.tenantId,
        key: null,
        date: today(),
        counts: { requests: 1, unauthorized: 1, status_4xx: 1 },
      },
    ]);

    await database('down');
    for (const attempts of [1, 2, 5]) {
      const failed = await deliver([message], { attempts });
      expect(failed.ackAll).toBe(false);
      // Retried whole (the test harness reports no delay; the back-off is core/usage's, tested there).
      expect(failed.retryBatch.retry).toBe(true);
      expect(failed.explicitAcks).toEqual([]);
    }

    await database('up');
    const written = await deliver([message], { attempts: 6 });
    expect(written.ackAll).toBe(true);
    expect(written.retryBatch.retry).toBe(false);
    expect(await batchRecorded(message.id)).toBe(true);
    expect(await usageTotals(t.tenantId)).toMatchObject(counts);
    expect(await usageTotals(t.tenantId, t.keyId)).toMatchObject({
      requests: 2,
      allowed: 2,
      unauthorized: 0,
    });
  });
});
