// Battery, faults the gateway must absorb without a 500 (DESIGN.md "Data plane" forwarding rules and
// "Limiter failure policy"): refused and hanging upstreams, an upstream dying mid-body, a gate that does not
// answer. Real upstreams (the echo servers and a port nothing listens on), real gate, real database.
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../../scripts/lib/echo-answer';
import { instances } from '../../../src/db/schema';
import { advanceClock, gatewayWait } from '../../worker/clock';
import { api } from '../../worker/control-client';
import { codeOf, gate, hit, limit, limitedTenant, sleep, usageReaches } from '../../worker/gate-helpers';
import { seedTenant, withDb } from '../../worker/helpers';

type UpstreamName = 'refused' | 'a' | 'b';

const urlOf = (name: UpstreamName) =>
  ({ refused: env.TEST_REFUSED_UPSTREAM_URL, a: env.TEST_UPSTREAM_URL, b: env.TEST_UPSTREAM_URL_B })[name];

async function tenantOn(upstreams: string[], timeoutMs?: number) {
  const t = await seedTenant({ upstreams });
  if (timeoutMs !== undefined) {
    await withDb((db) => db.update(instances).set({ timeoutMs }).where(eq(instances.name, t.instance)));
  }
  return t;
}

async function timed(work: () => Promise<Response>) {
  const started = performance.now();
  const res = await work();
  const body = await res.text();
  return { res, body, ms: performance.now() - started };
}

describe('battery: faults', () => {
  test('34 refused upstreams are skipped in order; none reachable → 502 upstream_unavailable', async () => {
    // Any arrangement of refusing and live upstreams: the first live one answers, the body intact.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<UpstreamName>('refused', 'a', 'b'), { minLength: 1, maxLength: 4 }),
        fc.string({ minLength: 0, maxLength: 200 }),
        async (arrangement, payload) => {
          const t = await tenantOn(arrangement.map(urlOf));
          const res = await hit(t, '/failover', {
            init: { method: 'POST', body: payload, headers: { 'x-request-id': 'fo-1' } },
          });
          const live = arrangement.find((name) => name !== 'refused');
          if (live) {
            expect(res.status).toBe(200);
            const echo = (await res.json()) as EchoAnswer;
            expect(echo.upstream).toBe(live);
            expect(echo.body_bytes).toBe(new TextEncoder().encode(payload).length);
          } else {
            expect(res.status).toBe(502);
            expect(res.headers.get('x-request-id')).toBe('fo-1');
            expect(await codeOf(res)).toBe('upstream_unavailable');
          }
        },
      ),
      {
        numRuns: 15,
        examples: [
          [['refused', 'b'], 'x'],
          [['refused', 'refused'], 'x'],
          [['refused'], ''],
        ],
      },
    );
  });

  test('35 a hanging upstream → 504 upstream_timeout at the instance timeout_ms, and only then', async () => {
    const short = await tenantOn([urlOf('a'), urlOf('b')], 400);
    const long = await tenantOn([urlOf('a')], 1_600);
    for (const t of [short, long]) expect((await hit(t, '/warm')).status).toBe(200);
    // Interleaved, so machine load slows both alike; the gap between the two timeouts is what is asserted.
    const shortMs: number[] = [];
    const longMs: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const [t, times] of [
        [short, shortMs],
        [long, longMs],
      ] as const) {
        const { res, body, ms } = await timed(() => hit(t, '/hang'));
        expect(res.status).toBe(504);
        expect(JSON.parse(body).error.code).toBe('upstream_timeout');
        times.push(ms);
      }
    }
    console.log(`504 after ${shortMs.map(Math.round)} ms (timeout 400), ${longMs.map(Math.round)} ms (1600)`);
    for (const ms of shortMs) {
      expect(ms).toBeGreaterThanOrEqual(390);
      expect(ms).toBeLessThan(1_500);
    }
    for (const ms of longMs) {
      expect(ms).toBeGreaterThanOrEqual(1_590);
      expect(ms).toBeLessThan(5_000);
    }
    // Load delays both alike, so the gap between them is the gap between the timeouts (1.2 s).
    const gap = Math.min(...longMs) - Math.min(...shortMs);
    expect(gap).toBeGreaterThan(900);
    expect(gap).toBeLessThan(2_000);
    // An answer that comes within the timeout is not cut.
    expect((await hit(long, '/slow/300')).status).toBe(200);
  });

  test('35 (its other half) timeout_ms bounds the wait for the headers only: a body that streams past it arrives whole', async () => {
    const t = await tenantOn([urlOf('a')], 300);
    expect((await hit(t, '/warm')).status).toBe(200);
    // Headers at once, then ten chunks over 900 ms: three times the instance's timeout.
    const { res, body, ms } = await timed(() => hit(t, '/trickle/900'));
    expect(res.status).toBe(200);
    expect(body).toBe(Array.from({ length: 10 }, (_, i) => `chunk ${i + 1}\n`).join(''));
    expect(ms).toBeGreaterThanOrEqual(800);
  });

  test('36 an upstream resetting mid-body breaks that response only; the gateway stays healthy', async () => {
    const t = await tenantOn([urlOf('a')]);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await hit(t, '/reset');
        // The headers were already sent (200, Content-Length 1000): the break can only show in the body.
        expect(res.status).toBe(200);
        const declared = res.headers.get('content-length');
        try {
          const bytes = (await res.arrayBuffer()).byteLength;
          // Ending cleanly is acceptable only when the declared length shows the body is short.
          return declared !== null && bytes < Number(declared)
            ? 'short of its length'
            : `clean end, ${bytes} B`;
        } catch {
          return 'read failed';
        }
      }),
    );
    console.log(`reset mid-body, the client saw: ${[...new Set(outcomes)].join(', ')}`);
    // A truncated body must never pass for a whole one.
    for (const outcome of outcomes) expect(['read failed', 'short of its length']).toContain(outcome);
    // The same tenant, another tenant, and the control plane answer normally right after.
    const other = await tenantOn([urlOf('b')]);
    const after = await Promise.all([hit(t, '/after'), hit(other, '/after'), hit(t, '/bytes/65536')]);
    expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await after[2].arrayBuffer()).byteLength).toBe(65536);
    const health = await api<{ status: string }>('GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
  });

  test('38 a gate that does not answer → on_gate_error: closed → 503 limiter_unavailable, open → served', async () => {
    const closed = await limitedTenant({ rateLimit: limit(100), limits: { on_gate_error: 'closed' } });
    const open = await limitedTenant({ rateLimit: limit(100), limits: { on_gate_error: 'open' } });
    // A gate busy for longer than a first lease call may wait (7 s, see proxy/limit): the real object,
    // blocked by real work.
    const busy = [closed, open].map((t) =>
      runInDurableObject(gate(t.tenantId), (_gate, state) => state.blockConcurrencyWhile(() => sleep(9_000))),
    );
    await sleep(100);
    const [closedAnswers, openAnswers] = await Promise.all(
      [closed, open].map((t) => Promise.all([hit(t), hit(t, '/y', { init: { method: 'POST', body: 'b' } })])),
    );
    for (const res of closedAnswers) {
      expect(res.status).toBe(503);
      expect(await codeOf(res)).toBe('limiter_unavailable');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    for (const res of openAnswers) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as EchoAnswer).upstream).toBe('a');
    }
    await Promise.all(busy);

    // Gate back: the closed tenant is served again once the failure back-off (1 s, on the gateway's clock) is over, and the open
    // tenant's requests that passed unchecked are counted after all.
    advanceClock(gatewayWait('gateFailureBackoff') + 100);
    expect((await hit(closed)).status).toBe(200);
    const openUsage = { requests: 2, allowed: 2 };
    expect(await usageReaches(open.tenantId, openUsage)).toMatchObject(openUsage);
    const closedUsage = { requests: 3, allowed: 1, status_5xx: 2 };
    expect(await usageReaches(closed.tenantId, closedUsage)).toMatchObject(closedUsage);
  }, 60_000);
});
