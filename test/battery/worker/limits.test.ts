// Battery cases 17–22 (16 is in ../process/limits-burst.test.ts; DESIGN.md "Data plane" limits): exact
// admission across a window boundary, rejected requests free, daily quotas, key limits under the tenant's,
// limit changes within 1 s, and one tenant's exhaustion never touching another.
import { describe, expect, test } from 'vitest';
import { api, errorCode, newKey } from '../../worker/control-client';
import {
  awayFromMinuteEnd,
  codeOf,
  hit,
  limit,
  limitedTenant,
  sleep,
  usageReaches,
} from '../../worker/gate-helpers';
import { type SeededTenant, seedTenant } from '../../worker/helpers';

type Outcome = { status: number; code: string | null; rateLimit: string | null; sentAt: number };

/** One request, its body read (so nothing is left open) and reduced to what the cases look at. */
async function outcome(t: SeededTenant, opts: Parameters<typeof hit>[2] = {}): Promise<Outcome> {
  const sentAt = Date.now();
  const res = await hit(t, '/x', opts);
  let code: string | null = null;
  if (res.status >= 400) code = await codeOf(res);
  else await res.body?.cancel();
  return { status: res.status, code, rateLimit: res.headers.get('ratelimit'), sentAt };
}

function burst(n: number, t: SeededTenant, opts: Parameters<typeof hit>[2] = {}): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: n }, () => outcome(t, opts)));
}

const admitted = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 200).length;

/** `loops` sequential request loops against `t` until `until` (a time, or a flag the test flips). */
/** `seen` fills as answers arrive, for a test that acts on the load while it runs. */
async function hammer(
  t: SeededTenant,
  loops: number,
  until: number | (() => boolean),
  seen: Outcome[] = [],
): Promise<Outcome[]> {
  const done = typeof until === 'number' ? () => Date.now() >= until : until;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (!done()) seen.push(await outcome(t));
    }),
  );
  return seen;
}

/** Seconds to the window's end from a `RateLimit: "minute";r=…;t=…` header. */
function secondsLeft(rateLimit: string | null): number {
  const t = /;t=(\d+)$/.exec(rateLimit ?? '')?.[1];
  if (t === undefined) throw new Error(`no t= in RateLimit ${rateLimit}`);
  return Number(t);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe('battery: limits', () => {
  test('17 across a minute boundary never more than the limit per window, and the new window is whole', async () => {
    // Two limits: the small one is spent long before the boundary, the larger one may still hold tokens
    // of the old window in this isolate when the boundary comes.
    const tenants = [
      { t: await limitedTenant({ rateLimit: limit(10) }), perMinute: 10 },
      { t: await limitedTenant({ rateLimit: limit(60) }), perMinute: 60 },
    ];
    // Loaded and cached before the clock starts (a 401 spends no budget): a cold load here can take seconds.
    for (const { t } of tenants) expect((await hit(t, '/x', { key: null })).status).toBe(401);
    // The first boundary at least 10 s away (bounded: ≤ 70 s of waiting).
    let boundary = Math.ceil(Date.now() / 60_000) * 60_000;
    if (boundary - Date.now() < 10_000) boundary += 60_000;
    await sleep(boundary - 8_000 - Date.now());
    const outcomes = await Promise.all(tenants.map(({ t }) => hammer(t, 3, boundary + 4_000)));

    for (const [i, { perMinute }] of tenants.entries()) {
      const seen = outcomes[i] ?? [];
      expect(seen.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
      // Which window decided a request is told by its own RateLimit header (t = seconds to that window's
      // end), not by when the test saw it: an old-window token spent after the boundary counts as old.
      const old = seen.filter((o) => secondsLeft(o.rateLimit) <= 30);
      const fresh = seen.filter((o) => secondsLeft(o.rateLimit) > 30);
      console.log(
        `${perMinute}/min: old window ${admitted(old)} of ${old.length}, new ${admitted(fresh)} of ${fresh.length}`,
      );
      expect(admitted(old)).toBeGreaterThanOrEqual(1);
      expect(admitted(old)).toBeLessThanOrEqual(perMinute);
      expect(admitted(fresh)).toBeGreaterThanOrEqual(1);
      expect(admitted(fresh)).toBeLessThanOrEqual(perMinute);
      // A window that saw far more requests than its limit admitted all of it: nothing was lost.
      if (old.length >= 2 * perMinute) expect(admitted(old)).toBe(perMinute);
      if (fresh.length >= 2 * perMinute) expect(admitted(fresh)).toBe(perMinute);
      // The boundary was crossed under load: requests were sent on both sides of it.
      expect(seen.some((o) => o.sentAt < boundary - 1_000)).toBe(true);
      expect(seen.some((o) => o.sentAt > boundary + 1_000)).toBe(true);
    }
  }, 120_000);

  test('18 rejected requests (401, 403, 429) consume no budget and are counted as rejected', async () => {
    const t = await limitedTenant({ rateLimit: limit(6) });
    const stranger = await seedTenant();
    const readOnly = await newKey(t.tenantId, ['proxy:read']);
    const keyLimited = await newKey(t.tenantId, ['proxy:read', 'proxy:write'], { rate_limit: limit(2) });
    await awayFromMinuteEnd(25_000);
    const rejected = [
      ...(await burst(5, t, { key: null })),
      ...(await burst(5, t, { key: 'gw_notakeyatall0000000000000000000000' })),
      ...(await burst(5, t, { key: stranger.key })),
      ...(await burst(5, t, { key: readOnly.secret, init: { method: 'POST' } })),
    ];
    expect(rejected.map((o) => o.status)).toEqual([...Array(15).fill(401), ...Array(5).fill(403)]);
    // The key's own limit refuses 18 of these; none of the 18 is taken from the tenant's 6.
    const keyBurst = await burst(20, t, { key: keyLimited.secret });
    expect(admitted(keyBurst)).toBe(2);
    const rest = await burst(20, t);
    expect(admitted(rest)).toBe(4);
    const expected = { requests: 60, allowed: 6, rate_limited: 34, unauthorized: 20 };
    expect(await usageReaches(t.tenantId, expected)).toMatchObject(expected);
  }, 60_000);

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
    const untilMidnight = Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);
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

  test('21 a PATCHed limit holds within 1 s under load, lowered and raised', async () => {
    const t = await limitedTenant({ rateLimit: limit(100_000) });
    await awayFromMinuteEnd(40_000);
    let stopped = false;
    const live: Outcome[] = [];
    const load = hammer(t, 4, () => stopped, live);
    // The lowered limit must already be spent when it comes; how long that takes depends on the machine.
    const spentBy = Date.now() + 15_000;
    while (admitted(live) <= 25 && Date.now() < spentBy) await sleep(100);
    const lowerSentAt = Date.now();
    const lowered = await api('PATCH', `/v1/tenants/${t.tenantId}`, { body: { rate_limit: limit(20) } });
    const loweredAt = Date.now();
    await sleep(3_500);
    const raiseSentAt = Date.now();
    const raised = await api('PATCH', `/v1/tenants/${t.tenantId}`, { body: { rate_limit: limit(100_000) } });
    const raisedAt = Date.now();
    await sleep(3_500);
    stopped = true;
    const outcomes = await load;
    expect([lowered.status, raised.status]).toEqual([200, 200]);

    // More than the lowered limit was admitted before it: once it holds, nothing more may pass this minute.
    expect(admitted(outcomes.filter((o) => o.sentAt < lowerSentAt))).toBeGreaterThan(20);
    const underLow = outcomes.filter((o) => o.sentAt >= loweredAt + 1_000 && o.sentAt < raiseSentAt);
    const underHigh = outcomes.filter((o) => o.sentAt >= raisedAt + 1_000);
    console.log(
      `PATCHed limit: ${underLow.length} requests under the lowered, ${underHigh.length} under the raised`,
    );
    expect(underLow.length).toBeGreaterThanOrEqual(5);
    expect(underLow.filter((o) => o.status !== 429 || o.code !== 'rate_limited')).toEqual([]);
    expect(underHigh.length).toBeGreaterThanOrEqual(5);
    expect(underHigh.filter((o) => o.status !== 200)).toEqual([]);
  }, 90_000);

  test('22 tenant A held at its limit neither limits nor slows tenant B', async () => {
    const a = await limitedTenant({ rateLimit: limit(10) });
    // B is limited too (far above its load), so its requests go through its own gate and wallet. Its
    // failure policy is open: on a starved 2-core machine a lease call can outlast its 2 s timeout, which
    // is the failure policy's case (38), not A's doing; a 429 or a wait on A would still show here.
    const b = await limitedTenant({ rateLimit: limit(1_000_000), limits: { on_gate_error: 'open' } });
    await awayFromMinuteEnd(30_000);
    const alone: Timed[] = [];
    const loaded: Timed[] = [];
    const aOutcomes: Outcome[] = [];
    // Interleaved rounds, so a slow spell of the shared machine falls on both sides of the comparison.
    for (let round = 0; round < 4; round++) {
      alone.push(...(await timed(b, 1_000)));
      let stopped = false;
      const pressure = hammer(a, 6, () => stopped);
      await sleep(100);
      loaded.push(...(await timed(b, 1_000)));
      stopped = true;
      aOutcomes.push(...(await pressure));
    }
    const aloneMs = median(alone.map((o) => o.tookMs));
    const loadedMs = median(loaded.map((o) => o.tookMs));
    console.log(
      `B median ${aloneMs} ms alone (${alone.length}), ${loadedMs} ms with A at its limit (${loaded.length}); A ${aOutcomes.length} requests`,
    );
    expect(admitted(aOutcomes)).toBeLessThanOrEqual(10);
    // A really was held at its limit the whole time, refused over and over.
    expect(aOutcomes.filter((o) => o.status === 429).length).toBeGreaterThanOrEqual(20);
    expect([...alone, ...loaded].filter((o) => o.status !== 200)).toEqual([]);
    // A shares this isolate's CPU with B, so some slowdown is the harness; waiting on A's gate or lease
    // would be far more than this.
    expect(loadedMs).toBeLessThanOrEqual(aloneMs * 5 + 30);
  }, 60_000);
});

type Timed = Outcome & { tookMs: number };

/** Sequential requests of `t` for `forMs`, each with how long it took. */
async function timed(t: SeededTenant, forMs: number): Promise<Timed[]> {
  const until = Date.now() + forMs;
  const seen: Timed[] = [];
  while (Date.now() < until) {
    const started = performance.now();
    const o = await outcome(t);
    seen.push({ ...o, tookMs: performance.now() - started });
  }
  return seen;
}
