// Warm-up, then rounds taken in turn across the scenarios (so a slow minute of the machine hits them all
// alike), and the median of each figure over the rounds.

import { processCpuMicros } from '../scripts/lib/process-cpu';
import { type BenchDatabase, transactionCount } from './database';
import { type LoadResult, runLoad, type Target } from './load';
import type { Generated } from './requests';

export type Scenario = {
  name: string;
  url: string;
  targets: Target[];
  /** Instead of `targets`: a generated tenant's keys, paths and query strings in turn (bench/requests.ts). */
  generated?: Generated;
  warmupSeconds: number;
  /** Instead of the plan's: 1 measures latency without queueing. */
  connections?: number;
  /** The gateway: its database queries are counted. */
  usesDatabase?: boolean;
  /** A worker's workerd process: its CPU time per request is measured. */
  pid?: number;
};
export type Plan = { connections: number; rounds: number; seconds: number; tmpDir: string };
export type Measured = {
  name: string;
  rounds: LoadResult[];
  median: LoadResult;
  dbQueriesPer1000: number | null;
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function medianResult(rounds: LoadResult[]): LoadResult {
  const of = (pick: (r: LoadResult) => number) => median(rounds.map(pick));
  const cpu = rounds.flatMap((r) => (r.cpuMicrosPerRequest === undefined ? [] : [r.cpuMicrosPerRequest]));
  return {
    requests: of((r) => r.requests),
    rps: of((r) => r.rps),
    p50: of((r) => r.p50),
    p90: of((r) => r.p90),
    p99: of((r) => r.p99),
    bad: rounds.reduce((sum, r) => sum + r.bad, 0),
    ...(cpu.length > 0 && { cpuMicrosPerRequest: median(cpu) }),
  };
}

/** One load run; with `pid`, charged with that process's CPU time over it. */
async function withCpu(pid: number | undefined, run: () => Promise<LoadResult>): Promise<LoadResult> {
  if (pid === undefined) return run();
  const before = await processCpuMicros(pid);
  const result = await run();
  const used = (await processCpuMicros(pid)) - before;
  return { ...result, cpuMicrosPerRequest: result.requests > 0 ? used / result.requests : 0 };
}

/**
 * Database queries are counted on the Postgres side over all rounds together and divided among the
 * requests of the scenarios that use the database: pass one of those per call.
 */
export async function measure(
  scenarios: Scenario[],
  plan: Plan,
  db: BenchDatabase,
  log: (line: string) => void,
): Promise<Measured[]> {
  const load = (s: Scenario, seconds: number) =>
    runLoad({
      url: s.url,
      targets: s.targets,
      generated: s.generated,
      connections: s.connections ?? plan.connections,
      seconds,
      tmpDir: plan.tmpDir,
    });
  for (const s of scenarios) await load(s, s.warmupSeconds);
  const before = await transactionCount(db);
  const rounds = new Map<string, LoadResult[]>(scenarios.map((s) => [s.name, []]));
  for (let round = 1; round <= plan.rounds; round++) {
    for (const s of scenarios) {
      const result = await withCpu(s.pid, () => load(s, plan.seconds));
      rounds.get(s.name)!.push(result);
      const cpu = result.cpuMicrosPerRequest;
      log(
        `  round ${round}/${plan.rounds} ${s.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms` +
          (cpu === undefined ? '' : `, ${cpu.toFixed(0)} µs CPU/req`) +
          (result.bad ? `, ${result.bad} errors` : ''),
      );
    }
  }
  const queries = (await transactionCount(db)) - before;
  const total = scenarios
    .filter((s) => s.usesDatabase)
    .flatMap((s) => rounds.get(s.name)!)
    .reduce((sum, r) => sum + r.requests, 0);
  return scenarios.map((s) => ({
    name: s.name,
    rounds: rounds.get(s.name)!,
    median: medianResult(rounds.get(s.name)!),
    dbQueriesPer1000: s.usesDatabase && total > 0 ? (queries / total) * 1000 : null,
  }));
}
