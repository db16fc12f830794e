// The freshness simulation (./world) as a cost meter: a fault-free run of steady traffic and writes, and
// what it cost the feed replicas and Postgres after a warm-up. docs/scale.md quotes these figures; its other
// figures are arithmetic.
import { World } from './world';

export type ScaleRun = {
  isolates: number;
  replicas: number;
  colos: number;
  tenants: number;
  requestsPerSecond: number;
  writesPerSecond: number;
  seconds: number;
};

export type ScaleFigures = ScaleRun & {
  /** Polls an isolate sent per second of traffic. */
  pollsPerIsolateSecond: number;
  /** Calls (polls and appends) each replica took per second: the busiest one, and the mean. */
  busiestReplicaCallsPerSecond: number;
  meanReplicaCallsPerSecond: number;
  /** Reads of `changes` per replica per second, and per write. */
  feedReadsPerReplicaSecond: number;
  feedReadsPerWritePerReplica: number;
  /** After a change, the isolates' reloads of the tenant: from Postgres, and from the colo cache, per change. */
  postgresReloadsPerChange: number;
  coloReloadsPerChange: number;
  /** Of an isolate's requests, the share that waited for a poll (the rest were served at once). */
  requestsWaitingShare: number;
};

const WARMUP_MS = 10_000;

export async function feedScale(run: ScaleRun): Promise<ScaleFigures> {
  const w = new World({
    seed: 1,
    isolates: run.isolates,
    colos: run.colos,
    replicas: run.replicas,
    tenants: run.tenants,
    durationMs: WARMUP_MS + run.seconds * 1000,
    requestsPerSecond: run.requestsPerSecond,
    writes: Math.round(run.writesPerSecond * (WARMUP_MS / 1000 + run.seconds)),
    appendLoss: 0,
    crashes: 0,
    troubles: 0,
    slowLoadRate: 0,
    bulk: false,
    idleGap: false,
    readBeforeStalePoll: false,
    edgeFixes: false,
    steady: true,
  });
  const start = w.s.now;
  const { endsAt } = w.schedule();
  let base = {
    polls: 0,
    calls: [] as number[],
    reads: 0,
    loads: 0,
    hits: 0,
    writes: 0,
    requests: 0,
    waited: 0,
  };
  const take = () => ({
    polls: w.isolates.reduce((n, i) => n + i.polls, 0),
    calls: w.replicas.map((r) => r.counts.polls + r.counts.appends),
    reads: w.replicas.reduce((n, r) => n + r.counts.reads, 0),
    loads: w.pg.reads.reloads,
    hits: w.pg.reads.coloHits,
    writes: w.pg.writes,
    requests: w.checks.stats.requests,
    waited: w.isolates.reduce((n, i) => n + i.waited, 0),
  });
  w.s.at(start + WARMUP_MS, () => {
    base = take();
  });
  await w.s.run(endsAt);
  const end = take();
  const seconds = (endsAt - start - WARMUP_MS) / 1000;
  const writes = end.writes - base.writes;
  const calls = end.calls.map((c, i) => (c - base.calls[i]!) / seconds);
  const feedReads = (end.reads - base.reads) / run.replicas;
  return {
    ...run,
    pollsPerIsolateSecond: (end.polls - base.polls) / run.isolates / seconds,
    busiestReplicaCallsPerSecond: Math.max(...calls),
    meanReplicaCallsPerSecond: calls.reduce((a, b) => a + b, 0) / calls.length,
    feedReadsPerReplicaSecond: feedReads / seconds,
    feedReadsPerWritePerReplica: writes === 0 ? 0 : feedReads / writes,
    postgresReloadsPerChange: writes === 0 ? 0 : (end.loads - base.loads) / writes,
    coloReloadsPerChange: writes === 0 ? 0 : (end.hits - base.hits) / writes,
    requestsWaitingShare: (end.waited - base.waited) / Math.max(1, end.requests - base.requests),
  };
}
