// The workerd tests' two gateway isolates (test/setup/gateway-b.ts): A, the runner's worker, whose modules
// the tests share, and B, the gateway's bundle in a worker of its own. They are two isolates (module state
// each its own) of one deployment (the same Durable Objects, database and bindings).
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, test } from 'vitest';
import type { TenantGate } from '../../src/gate/tenant-gate';
import { advanceClock, awayFromMinuteEnd, clockOffset, now } from './clock';
import { api, newKey, newTenant } from './control-client';
import { codeOf, gate, limit, limitedTenant } from './gate-helpers';
import { gatewayFetch, gatewayFetchB, type SeededTenant } from './helpers';
import { advanceClockB, clockOffsetB, isolateIdB, levelClocks } from './isolates';

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

function through(fetch: typeof gatewayFetch, t: Pick<SeededTenant, 'slug' | 'key'>) {
  return fetch(`http://${t.slug}.localhost/x`, { headers: bearer(t.key) });
}

async function statusOf(res: Response): Promise<string> {
  if (res.status !== 200) return `${res.status} ${await codeOf(res)}`;
  await res.body?.cancel();
  return '200';
}

describe('two gateway isolates', () => {
  test('B is an isolate of its own: its module state (its clock) is not the test’s and A’s', async () => {
    const id = await isolateIdB();
    expect(await isolateIdB()).toBe(id);
    await levelClocks();
    const offsetA = clockOffset();
    expect(await clockOffsetB()).toBe(offsetA);
    // The gateway's clock module, moved in B only: A's (the test's own) stays where it was.
    await advanceClockB(60_000);
    expect(await clockOffsetB()).toBe(offsetA + 60_000);
    expect(clockOffset()).toBe(offsetA);
    advanceClock(60_000);
    expect(await clockOffsetB()).toBe(clockOffset());
  });

  test('each isolate answers on its own clock: a key past its expiry in B only is refused in B only', async () => {
    await levelClocks();
    const { tenant } = await newTenant();
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } })).status).toBe(200);
    // Far enough ahead that real time never reaches it during the test, however loaded the machine.
    const expiresAt = now() + 120_000;
    const { secret } = await newKey(tenant.id, ['proxy:read'], {
      expires_at: new Date(expiresAt).toISOString(),
    });
    const t = { slug: tenant.slug, key: secret };
    expect([
      await statusOf(await through(gatewayFetch, t)),
      await statusOf(await through(gatewayFetchB, t)),
    ]).toEqual(['200', '200']);
    await advanceClockB(expiresAt - now() + 50);
    expect(await statusOf(await through(gatewayFetchB, t))).toBe('401 invalid_api_key');
    expect(await statusOf(await through(gatewayFetch, t))).toBe('200');
    await levelClocks();
    expect(await statusOf(await through(gatewayFetch, t))).toBe('401 invalid_api_key');
  });

  test('one TenantGate for both: its stats count calls from each, and its limit is spent by both', async () => {
    const t = await limitedTenant({ rateLimit: limit(1_000) });
    awayFromMinuteEnd(15_000);
    await levelClocks();
    expect(await statusOf(await through(gatewayFetch, t))).toBe('200');
    const afterA = (await gate(t.tenantId).stats()).leaseCalls;
    expect(afterA).toBeGreaterThanOrEqual(1);
    // B holds no lease of this tenant yet: its first request asks the same gate.
    expect(await statusOf(await through(gatewayFetchB, t))).toBe('200');
    expect((await gate(t.tenantId).stats()).leaseCalls).toBeGreaterThan(afterA);
    // The runner's test APIs still reach that object (it runs in A's isolate).
    const calls = await runInDurableObject(
      gate(t.tenantId),
      async (instance: TenantGate) => (await instance.stats()).leaseCalls,
    );
    expect(calls).toBe((await gate(t.tenantId).stats()).leaseCalls);

    // Three a minute, spent through A: B finds none left.
    const small = await limitedTenant({ rateLimit: limit(3) });
    for (let i = 0; i < 3; i++) expect(await statusOf(await through(gatewayFetch, small))).toBe('200');
    expect(await statusOf(await through(gatewayFetchB, small))).toBe('429 rate_limited');
  });
});
