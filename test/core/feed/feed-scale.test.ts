// What freshness costs, from the simulation (./sim/scale): the figures docs/scale.md quotes. Deterministic
// (seeded); `SCALE_REPORT=1 npx vitest run --project core test/core/feed/feed-scale.test.ts` prints them.
import { describe, expect, it } from 'vitest';
import { feedScale, type ScaleFigures, type ScaleRun } from './sim/scale';

const BASE: ScaleRun = {
  isolates: 100,
  replicas: 1,
  colos: 4,
  tenants: 50,
  requestsPerSecond: 5,
  writesPerSecond: 1,
  seconds: 60,
};

const round = (f: ScaleFigures) =>
  Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));

describe('what freshness costs (simulated, 100 isolates, 60 s after a 10 s warm-up)', () => {
  it('does not grow with the number of tenants: feed calls are per isolate, Postgres reads per colo', async () => {
    const few = await feedScale(BASE);
    const many = await feedScale({ ...BASE, tenants: 500 });
    if (process.env.SCALE_REPORT) console.table([round(few), round(many)]);
    // Each isolate polls about once a second while it has traffic, whatever the tenants.
    expect(few.pollsPerIsolateSecond).toBeGreaterThan(0.8);
    expect(few.pollsPerIsolateSecond).toBeLessThanOrEqual(1.1);
    expect(many.pollsPerIsolateSecond).toBeCloseTo(few.pollsPerIsolateSecond, 1);
    // One replica takes every poll and every append.
    const calls = BASE.isolates * few.pollsPerIsolateSecond + BASE.writesPerSecond;
    expect(few.busiestReplicaCallsPerSecond).toBeCloseTo(calls, 0);
    // A write costs each replica about one read of `changes`; the 10 s repair adds 0.1 a second.
    expect(few.feedReadsPerWritePerReplica).toBeGreaterThan(0.9);
    expect(few.feedReadsPerWritePerReplica).toBeLessThan(1.25);
    // After a change, about one Postgres read per colo; the colo's other isolates read the colo cache.
    expect(few.postgresReloadsPerChange).toBeLessThanOrEqual(BASE.colos * 1.5);
    expect(few.coloReloadsPerChange).toBeGreaterThan(few.postgresReloadsPerChange * 5);
  });

  it('spreads over replicas, and polls a little more often under heavier traffic', async () => {
    const spread = await feedScale({ ...BASE, replicas: 4 });
    const busy = await feedScale({ ...BASE, requestsPerSecond: 20 });
    const quiet = await feedScale({ ...BASE, requestsPerSecond: 1 });
    if (process.env.SCALE_REPORT) console.table([round(spread), round(busy), round(quiet)]);
    expect(spread.meanReplicaCallsPerSecond * 4).toBeCloseTo(
      BASE.isolates * spread.pollsPerIsolateSecond + 4,
      0,
    );
    expect(spread.busiestReplicaCallsPerSecond).toBeLessThan(spread.meanReplicaCallsPerSecond * 1.5);
    expect(busy.pollsPerIsolateSecond).toBeLessThanOrEqual(1.1);
    expect(busy.pollsPerIsolateSecond).toBeGreaterThan(spread.pollsPerIsolateSecond);
    // A poll is made ahead of time only if a request comes 0.9–1 s after the last: the quieter the isolate,
    // the more of its requests wait for one (a round trip to the feed).
    expect(quiet.requestsWaitingShare).toBeGreaterThan(busy.requestsWaitingShare);
    expect(busy.requestsWaitingShare).toBeLessThan(0.1);
  });
});
