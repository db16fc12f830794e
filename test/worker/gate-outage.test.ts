// Postgres down (DESIGN.md principle 1, "Usage"): warm tenants keep flowing through their TenantGate, the
// control plane answers 503, usage waits in the gate and is complete once Postgres is back — all without
// restarting the worker. Runs in its own vitest project (own Postgres), since it takes the database away.
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, test } from 'vitest';
import { advanceClock } from './clock';
import { api, errorCode } from './control-client';
import { codeOf, gate, hit, limit, limitedTenant, usageReaches } from './gate-helpers';
import { seedTenant } from './helpers';

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
    // The gate's flush, run now rather than waited for: it fails and keeps the batch for a retry.
    expect(await runDurableObjectAlarm(gate(warm.tenantId))).toBe(true);
    expect((await gate(warm.tenantId).stats()).unflushed).toBe(true);

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
});
