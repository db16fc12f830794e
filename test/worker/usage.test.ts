// Usage (DESIGN.md "Usage"): counted by the edge in the isolate's batch, sent through the USAGE queue (a real
// Miniflare queue), written by its consumer to usage_daily and usage_key_daily, shown by the usage API within
// 15 s, with nothing counted twice.
import { describe, expect, test } from 'vitest';
import { awayFromMinuteEnd, hit, limit, limitedTenant, usageReaches } from './gate-helpers';

describe('usage', () => {
  test('a known mix shows exact counts in the usage API within 15 s', async () => {
    const t = await limitedTenant({ rateLimit: limit(7) });
    await awayFromMinuteEnd(10_000);
    const sizes: number[] = [];
    const admitted = async (res: Response, status: number) => {
      expect(res.status).toBe(status);
      sizes.push((await res.arrayBuffer()).byteLength);
    };
    await admitted(await hit(t, '/a'), 200);
    await admitted(await hit(t, '/b'), 200);
    await admitted(await hit(t, '/status/404'), 404);
    await admitted(await hit(t, '/status/503'), 503);
    await admitted(await hit(t, '/redirect', { init: { redirect: 'manual' } }), 302);
    // A body with a length, and one streamed without (counted as it passes, both ways).
    await admitted(await hit(t, '/a', { init: { method: 'POST', body: 'hello' } }), 200);
    const streamed = new Blob([new Uint8Array(1000).fill(7)]).stream();
    await admitted(await hit(t, '/reflect', { init: { method: 'POST', body: streamed } }), 200);
    for (let i = 0; i < 2; i++) expect((await hit(t)).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await hit(t, '/x', { key: null })).status).toBe(401);
    const started = Date.now();
    const expected = {
      requests: 12,
      allowed: 7,
      rate_limited: 2,
      quota_exceeded: 0,
      would_limit: 0,
      unauthorized: 3,
      status_2xx: 4,
      status_3xx: 1,
      status_4xx: 6,
      status_5xx: 1,
      backend_4xx: 1,
      backend_5xx: 1,
      bytes_in: 1005,
      bytes_out: sizes.reduce((a, b) => a + b, 0),
    };
    expect(sizes.at(-1)).toBe(1000);
    const totals = await usageReaches(t.tenantId, expected, 15_000);
    expect(totals).toMatchObject(expected);
    console.log(`usage visible ${Date.now() - started} ms after the last request`);
    // The key's own rows: every request it made (the limiter's refusals included), none of the keyless 401s.
    const byKey = { ...expected, requests: 9, unauthorized: 0, status_4xx: 3 };
    expect(await usageReaches(t.tenantId, byKey, 15_000, t.keyId)).toEqual(byKey);
  }, 45_000);

  test('quota refusals are counted apart from rate-limit refusals', async () => {
    const t = await limitedTenant({ rateLimit: limit(null, 1) });
    expect((await hit(t)).status).toBe(200);
    expect((await hit(t)).status).toBe(429);
    expect((await hit(t)).status).toBe(429);
    const totals = await usageReaches(t.tenantId, { requests: 3, quota_exceeded: 2 });
    expect(totals).toMatchObject({
      requests: 3,
      allowed: 1,
      quota_exceeded: 2,
      would_limit: 0,
      rate_limited: 0,
      status_4xx: 2,
    });
  });
});
