// Battery cases 19 and 20 (DESIGN.md "Data plane" limits): daily quotas exact under concurrency, and a
// key's own limit under its tenant's. (16 is in ../process/limits-burst.suite.ts.)
import { describe, expect, test } from 'vitest';
import { now } from '../../worker/clock';
import { api, errorCode, newKey } from '../../worker/control-client';
import { awayFromMinuteEnd, codeOf, hit, limit, limitedTenant } from '../../worker/gate-helpers';
import { admitted, burst, outcome } from './limits-load';

describe('battery: limits', () => {
  test('19 a daily quota is exact: 40/day under 200 concurrent → 40 admitted, 160 × 429 quota_exceeded', async () => {
    const t = await limitedTenant({ rateLimit: limit(1_000, 40) });
    await awayFromMinuteEnd(20_000);
    const outcomes = await burst(200, t);
    expect(admitted(outcomes)).toBe(40);
    const refused = outcomes.filter((o) => o.status === 429);
    expect(refused).toHaveLength(160);
    expect(new Set(refused.map((o) => o.code))).toEqual(new Set(['quota_exceeded']));
    const res = await hit(t);
    expect(res.status).toBe(429);
    expect(res.headers.get('ratelimit-policy')).toBe('"minute";q=1000;w=60, "day";q=40;w=86400');
    expect(res.headers.get('ratelimit')).toMatch(/^"day";r=0;t=\d+$/);
    const untilMidnight = Math.ceil((86_400_000 - (now() % 86_400_000)) / 1000);
    expect(Math.abs(Number(res.headers.get('retry-after')) - untilMidnight)).toBeLessThanOrEqual(2);
    expect(await codeOf(res)).toBe('quota_exceeded');
  }, 60_000);

  test('20 a key’s own limit applies under the tenant’s and can never exceed it', async () => {
    const t = await limitedTenant({ rateLimit: limit(10) });
    const above = await api('POST', `/v1/tenants/${t.tenantId}/keys`, {
      body: { name: 'above', scopes: ['proxy:read'], rate_limit: limit(11) },
    });
    expect(above.status).toBe(422);
    expect(errorCode(above)).toBe('validation_failed');
    const own = await newKey(t.tenantId, ['proxy:read'], { rate_limit: limit(3) });
    expect(own.key.rate_limit).toEqual(limit(3));
    await awayFromMinuteEnd(20_000);
    const ownBurst = await burst(15, t, { key: own.secret });
    expect(admitted(ownBurst)).toBe(3);
    expect(ownBurst.filter((o) => o.code === 'rate_limited')).toHaveLength(12);
    // The tenant's limit still binds every key together: 10 − 3 left for the key without its own limit.
    const tenantBurst = await burst(15, t);
    expect(admitted(tenantBurst)).toBe(7);
    // And the own key, though under its own 3, is now held by the exhausted tenant.
    expect((await outcome(t, { key: own.secret })).status).toBe(429);
  }, 60_000);
});
