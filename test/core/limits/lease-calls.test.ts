// What leases cost: gate calls under steady traffic (test/core/feed/sim/steady-leases), by simulated time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CounterSpec } from '../../../src/core/limits/lease';
import { steadyGateCalls } from '../feed/sim/steady-leases';

const MINUTE: CounterSpec = { id: 'tenant:minute', kind: 'minute', limit: 100_000 };
const DAY: CounterSpec = { id: 'tenant:day', kind: 'day', limit: 100_000_000 };
const KEY: CounterSpec = { id: 'key:k:minute', kind: 'minute', limit: 50_000 };

describe('gate calls of a steady tenant with a high limit', () => {
  // A cost, not a guarantee: the scenarios are drawn from a fixed seed so the bounds do not flake. Over 128
  // isolates the means were 2.20 calls a minute (minute limit; 2.41 before calls waited for the moment that
  // buys the rest of the window, and grants got 2 s of headroom), 2.10 (day limit), 2.93 (both, whose leases
  // lapse out of step), the most 29, 21 and 31 in 10 minutes.
  const costs = (specs: CounterSpec[]) => {
    const perMinute: number[] = [];
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          isolates: fc.integer({ min: 1, max: 6 }),
          delayMs: fc.integer({ min: 0, max: 80 }),
          offsetMs: fc.integer({ min: 0, max: 59_999 }),
        }),
        (sc) => {
          const minutes = 10;
          const c = steadyGateCalls({ ...sc, specs, minutes, ratePerSecond: 1 });
          expect(c.admitted).toBe(c.requests);
          // A request rarely waits for a call: the window's first finds one made as the window began.
          expect(c.waited).toBeLessThanOrEqual(1.5 * minutes * sc.isolates);
          for (const calls of c.calls) perMinute.push(calls / minutes);
        },
      ),
      { numRuns: 40, seed: 20_261_201 },
    );
    return { max: Math.max(...perMinute), mean: perMinute.reduce((a, b) => a + b, 0) / perMinute.length };
  };

  it('are about 2 per isolate per minute at 1 request/s with one limit, never above 3, nothing refused', () => {
    for (const specs of [[MINUTE], [DAY], [MINUTE, KEY]]) {
      const { max, mean } = costs(specs);
      expect(max).toBeLessThanOrEqual(3);
      expect(mean).toBeGreaterThanOrEqual(2);
      expect(mean).toBeLessThanOrEqual(2.35);
    }
  });

  it('are under 3.3 per isolate per minute with a minute and a day limit', () => {
    const { max, mean } = costs([MINUTE, DAY]);
    expect(max).toBeLessThanOrEqual(3.3);
    expect(mean).toBeLessThanOrEqual(3);
  });

  it('cost about a call per lease for a quiet tenant: one request a minute, one call', () => {
    const c = steadyGateCalls({
      seed: 3,
      isolates: 2,
      minutes: 10,
      ratePerSecond: 1 / 60,
      specs: [MINUTE],
      delayMs: 20,
      offsetMs: 0,
    });
    for (const calls of c.calls) expect(calls).toBeLessThanOrEqual(11);
  });

  it('grow near exhaustion, bounded by the quarter rule, and never admit past the limit', () => {
    const limited: CounterSpec = { ...MINUTE, limit: 100 };
    const c = steadyGateCalls({
      seed: 9,
      isolates: 4,
      minutes: 10,
      ratePerSecond: 1,
      specs: [limited],
      delayMs: 20,
      offsetMs: 0,
    });
    // 4 req/s against 100 a minute: each window hands out its 100 and then answers 429 locally.
    expect(c.admitted).toBeLessThanOrEqual(100 * 11);
    expect(c.admitted).toBeGreaterThanOrEqual(100 * 9);
    const perWindow = c.calls.reduce((a, b) => a + b, 0) / 10;
    // Quarter rule: ~log(100)/log(4/3) ≈ 16 grants drain a window, plus each isolate's 429 answers.
    expect(perWindow).toBeGreaterThan(3 * 4);
    expect(perWindow).toBeLessThanOrEqual(40);
  });

  it("bunch at the start of each minute for a minute limit, the isolates' leases ending together", () => {
    const run = (specs: CounterSpec[]) =>
      steadyGateCalls({
        seed: 5,
        isolates: 300,
        minutes: 5,
        ratePerSecond: 1,
        specs,
        delayMs: 20,
        offsetMs: 0,
        startSpreadMs: 30_000,
      });
    const minute = run([MINUTE]);
    const day = run([DAY]);
    const mean = (c: typeof minute) => c.calls.reduce((a, b) => a + b, 0) / (5 * 60);
    if (process.env.SCALE_REPORT)
      console.table({
        minute: { mean: mean(minute), busiest: minute.busiestSecond },
        day: { mean: mean(day), busiest: day.busiestSecond },
      });
    // About every isolate calls within one second of the window start (docs/scale.md, gate calls); a day
    // limit's 30 s leases stay spread as the isolates started.
    expect(minute.busiestSecond).toBeGreaterThan(0.8 * 300);
    expect(minute.busiestSecond).toBeGreaterThan(20 * mean(minute));
    expect(day.busiestSecond).toBeLessThan(0.2 * 300);
  });

  it('reach most of a budget many isolates share, never more (the rest lapses in their leases)', () => {
    const share = (isolates: number, ratePerSecond: number, limit: number) => {
      const c = steadyGateCalls({
        seed: 1,
        isolates,
        minutes: 10,
        ratePerSecond,
        specs: [{ ...MINUTE, limit }],
        delayMs: 20,
        offsetMs: 0,
      });
      const perWindow = c.admitted / 10;
      return { isolates, ratePerSecond, limit, demand: c.requests / 10, admitted: perWindow };
    };
    const rows = [share(4, 1, 100), share(100, 2, 10_000), share(100, 0.2, 1_000)];
    if (process.env.SCALE_REPORT) console.table(rows);
    for (const r of rows) {
      expect(r.admitted).toBeLessThanOrEqual(r.limit);
      expect(r.admitted).toBeGreaterThanOrEqual(0.5 * Math.min(r.limit, r.demand));
    }
  });
});
