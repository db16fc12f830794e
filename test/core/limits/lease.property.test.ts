// Leases under concurrency, skew, delays, losses and limit changes. The simulation and what it checks at every
// event: test/core/feed/sim/leases.ts; what it checks at the end: test/core/feed/sim/lease-audit.ts. Here
// fast-check picks the scenarios.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateLeases } from '../feed/sim/lease-audit';
import type { LeaseScenario } from '../feed/sim/leases';

const limitsArb = (m: number, d: number) =>
  fc.record({
    requests_per_minute: fc.option(fc.integer({ min: 0, max: m }), { freq: 3 }),
    requests_per_day: fc.option(fc.integer({ min: 0, max: d }), { freq: 3 }),
  });
const scenarioArb: fc.Arbitrary<LeaseScenario> = fc.record({
  seed: fc.integer(),
  isolates: fc.integer({ min: 3, max: 16 }),
  durationMs: fc.integer({ min: 45_000, max: 100_000 }),
  tenant: limitsArb(300, 2500),
  keys: fc.array(limitsArb(80, 600), { maxLength: 3 }),
  changes: fc.integer({ min: 0, max: 30 }),
  lossRate: fc.constantFrom(0, 0.02, 0.1),
  slowRate: fc.constantFrom(0, 0.05, 0.2),
  burstiness: fc.integer({ min: 1, max: 30 }),
});

describe('leases under concurrency, skew, delays, losses and limit changes', () => {
  it('never over-admits, loses nothing but lost answers, and obeys limit changes', () => {
    const totals = { admitted: 0, rejected: 0, gaveUp: 0, calls: 0, drops: 0 };
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const r = simulateLeases(sc);
        for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
      }),
      { numRuns: 40 },
    );
    // Both sides of the limit, and limit changes, are exercised, not passed vacuously.
    expect(totals.admitted).toBeGreaterThan(1000);
    expect(totals.rejected).toBeGreaterThan(1000);
    expect(totals.drops).toBeGreaterThan(20);
    // Leases do their job: far fewer gate calls than requests.
    expect(totals.calls).toBeLessThan((totals.admitted + totals.rejected) / 2);
  });
});
