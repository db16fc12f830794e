// The long tail (DESIGN.md, Architecture principle 2: what a request costs does not grow with the number of
// tenants). Two deployments of the instrumented gateway (bench/instrumented.js), one per database size
// (10,000 and 100,000 tenants), each two isolates in one workerd process (bench/workerd.ts startWorkers:
// shared Durable Objects and queues, its own Postgres database, a direct socket per isolate). Every scenario
// loads both isolates of its deployment and is compared with the 1-tenant scenario of the same limit
// configuration:
//   (a) 1,000 tenants in use, no limit and a limit too high to trigger, out of 10,000 and of 100,000;
//   (b) 1,000 limited tenants paced at one request a second each, every tenant on one isolate, for several
//       lease lives (a lease lives ≤ 30 s, so a shorter run would measure its first call, not the steady
//       state); then 1,000 tenants pushed to twice their limit, with the limit checked per tenant and
//       calendar minute from the paced client's own log;
//   (c) keys revoked through isolate 1 while isolate 2 is polled with them, 1,000 tenants in use.
// Rounds of (a) are taken in turn, then (b) and (c) run once each; gate calls, feed polls and Postgres transactions
// are counted around each run (reading every counter after each one, so each run is charged its own).
import path from 'node:path';
import { processCpuMicros } from '../scripts/lib/process-cpu';
import { type BenchDatabase, siblingDatabase, transactionCounts } from './database';
import { request } from './http';
import { generatorVersion, type LoadResult, runLoad } from './load';
import { medianResult } from './measure';
import { checkLimit, type LimitCheck, type PacedRun, runPaced } from './paced';
import type { PacedSpread, PacedSummary } from './paced-child';
import { type ProfileShare, profileWhile } from './profile';
import type { Generated } from './requests';
import {
  analyzeTenants,
  configureTenantsInUse,
  KEYS_PER_TENANT,
  type RateLimitConfig,
  seedGeneratedTenants,
  seedInstance,
} from './seed';
import { type Revocations, revoke } from './tail-revoke';
import { type Bundle, type RunningWorker, startWorkers } from './workerd';

export type TailPlan = {
  /** Tenants in the database of each deployment: the smaller hosts every scenario but the larger's (a). */
  totals: [number, number];
  /** Tenants in use per scenario (each total must be a multiple of it, at least eight times over). */
  inUse: number;
  connections: number;
  rounds: number;
  /** One closed-loop run (wrk / autocannon). */
  seconds: number;
  /** Closed-loop load per scenario before the first round (after every tenant was loaded). */
  warmupSeconds: number;
  /**
   * Closed-loop load, not measured, right before each run: rounds take the scenarios in turn, so a run would
   * otherwise begin after the others' (tens of seconds idle: every lease lapsed, the process's caches cold)
   * and measure that restart instead of traffic that goes on. Steady-state lease renewals are the quiet
   * paced row's to measure.
   */
  runWarmupSeconds: number;
  /** The tenant loading before the rounds gives up after this. */
  warmDeadlineMs: number;
  /**
   * How long after a run its counters are read (at least the 1.1 s Postgres's statistics take): what the
   * deployment does meanwhile (usage reports and flushes trail a request by up to ~5 s) is charged to the run.
   */
  settleMs: number;
  /** The quiet half of (b): one run of `seconds`, each tenant's requests on one isolate. */
  quiet: { limit: number; rate: number; seconds: number };
  /** `seconds: null`: until the second full calendar minute after the start is over (120–180 s). */
  pushed: { limit: number; rate: number; seconds: number | null };
  revocations: { count: number; spacingMs: number; timeoutMs: number; backgroundRate: number };
  /** Unanswered requests the paced client allows itself, per run. */
  maxInFlight: number;
  /** Take a CPU profile of isolate 1 under the 1,000-tenant load. */
  profile: boolean;
  tmpDir: string;
};

export type TailContext = {
  main: BenchDatabase;
  /** The instrumented gateway's bundle. */
  bundle: Bundle;
  upstreamUrl: string;
  sealingKey: string;
  adminKey: string;
  /** Vars and secrets of the gateway; each deployment replaces DATABASE_URL with its own database. */
  bindings: Record<string, string>;
  inspectorPort: number;
  log: (line: string) => void;
};

/** One measured run, with what it cost. */
export type TailRun = LoadResult & {
  gateCalls: number;
  /** Null: the deployment has no CHANGE_FEED binding. */
  feedCalls: number | null;
  transactions: number;
  /** Closed-loop runs: CPU time the other deployment's process spent meanwhile (what it took from this run). */
  otherCpuMs?: number;
};

export type TailRow = {
  name: string;
  /** `closed`: 32 connections, as fast as it answers; `paced`: so many requests a second per tenant. */
  load: string;
  tenantsInDatabase: number;
  tenantsInUse: number;
  limit: string;
  runs: TailRun[];
  /** Over every run. */
  requests: number;
  median: LoadResult;
  /** The 1-tenant row of its limit configuration, and req/s relative to it (closed-loop rows only). */
  reference: string | null;
  /** Whether other rows are compared with this one. */
  isReference: boolean;
  ratio: number | null;
  gatePer1000: number;
  feedPer1000: number | null;
  transactionsPer1000: number;
  /** 429 answers (a pushed or quiet row), counted apart from the errors. */
  limited: number;
  note?: string;
};

export type TailWarmup = {
  deployment: string;
  tenants: number;
  requests: number;
  loaded: number;
  refused: number;
  unsent: number;
  ms: number;
  firstRefusal: string | null;
};

export type TailResults = {
  method: string;
  seedingMs: number;
  warmup: TailWarmup[];
  rows: TailRow[];
  pushed: { row: string; check: LimitCheck; summary: PacedSummary; seconds: number };
  quiet: { row: string; check: LimitCheck };
  revocations: Revocations;
  profile: { name: string; shares: ProfileShare[] } | null;
};

type Deployment = {
  label: string;
  total: number;
  db: BenchDatabase;
  workers: RunningWorker[];
  urls: string[];
};

type LimitName = 'none' | 'high';

type TailScenario = {
  name: string;
  deployment: Deployment;
  tenants: number[];
  limit: LimitName;
  /** Name of the 1-tenant scenario of its limit configuration (none for the references themselves). */
  reference: string | null;
};

/** Too high to trigger in a run; the tenant is limited all the same, so its requests take the gate's path. */
export const TAIL_HIGH_LIMIT: RateLimitConfig = { requests_per_minute: 10_000_000, requests_per_day: null };
const perMinute = (limit: number): RateLimitConfig => ({
  requests_per_minute: limit,
  requests_per_day: null,
});

const count = (n: number) => n.toLocaleString('en');

/** What a warm-up did not load, for a log line or the report. */
export function refusals(w: TailWarmup): string {
  const first = w.firstRefusal ? `; first refusal: ${w.firstRefusal}` : '';
  return `${w.refused} refused, ${w.unsent} not tried before the deadline${first}`;
}

type Calls = { gate: number; feed: number | null };
type Reading = { transactions: Map<string, number>; calls: Map<string, Calls> };

/** This isolate's counts of bench/instrumented.js. */
async function isolateCalls(url: string): Promise<Calls> {
  // A connection of its own: a kept-alive one may have been closed by workerd while idle.
  const answer = await request(url, { host: 'control.localhost', path: '/__bench/calls', fresh: true });
  const { bindings } = JSON.parse(answer.body) as { bindings: Record<string, Record<string, number>> };
  const sum = (counts: Record<string, number> | undefined) =>
    counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null;
  return { gate: sum(bindings.TENANT_GATE) ?? 0, feed: sum(bindings.CHANGE_FEED) };
}

/** CPU time so far of a deployment's workerd process (both its isolates run in it). */
const deploymentCpuMicros = (d: Deployment) => processCpuMicros(d.workers[0].pid);

/** Every counter of every deployment, once the database's statistics have caught up (one wait). */
async function readCounters(deployments: Deployment[], settleMs: number): Promise<Reading> {
  const transactions = await transactionCounts(
    deployments.map((d) => d.db),
    Math.max(1_100, settleMs),
  );
  const calls = new Map<string, Calls>();
  for (const d of deployments) {
    const each = await Promise.all(d.urls.map(isolateCalls));
    calls.set(d.label, {
      gate: each.reduce((a, c) => a + c.gate, 0),
      feed: each.some((c) => c.feed !== null) ? each.reduce((a, c) => a + (c.feed ?? 0), 0) : null,
    });
  }
  return { transactions, calls };
}

function costOf(d: Deployment, before: Reading, after: Reading) {
  const b = before.calls.get(d.label)!;
  const a = after.calls.get(d.label)!;
  return {
    gateCalls: a.gate - b.gate,
    feedCalls: a.feed === null ? null : a.feed - (b.feed ?? 0),
    transactions: (after.transactions.get(d.db.name) ?? 0) - (before.transactions.get(d.db.name) ?? 0),
  };
}

/** A paced run as a LoadResult: answers per second of its `seconds`, 429s apart from other errors. */
function pacedResult(run: PacedRun, seconds: number): LoadResult & { limited: number } {
  const s = run.summary;
  const answered = run.records.length;
  const limited = s.byStatus['429'] ?? 0;
  return {
    requests: answered,
    rps: answered / seconds,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    bad: answered - (s.byStatus['200'] ?? 0) - limited,
    limited,
  };
}

async function seedDeployment(
  ctx: TailContext,
  db: BenchDatabase,
  total: number,
  sets: { tenants: number[]; limit: RateLimitConfig | null; lastKey: number }[],
) {
  const instanceId = await seedInstance(db.client, ctx.upstreamUrl, ctx.sealingKey);
  await seedGeneratedTenants(db.client, instanceId, 1, total);
  for (const set of sets)
    await configureTenantsInUse(db.client, set.tenants, { fromKey: 1, toKey: set.lastKey }, set.limit);
  await analyzeTenants(db.client);
}

type Sets = Record<
  'none' | 'high' | 'quiet' | 'pushed' | 'noneLarge' | 'highLarge' | 'none1' | 'high1',
  number[]
>;

/** Seeded databases and running deployments, ready for {@link runTail}. */
export type TailSetup = {
  plan: TailPlan;
  ctx: TailContext;
  sets: Sets;
  a: Deployment;
  b: Deployment;
  seedingMs: number;
};

/**
 * Seeds both databases and starts both deployments (all at once): done before any measurement, so the
 * figures of the other scenarios never share the machine with it.
 */
export async function prepareTail(plan: TailPlan, ctx: TailContext): Promise<TailSetup> {
  const { log } = ctx;
  const [smaller, larger] = plan.totals;
  const n = plan.inUse;
  // Set k of a database of `total`: tenants k, k + stride, k + 2·stride … (spread over the whole table).
  const spread = (total: number, offset: number) => {
    const stride = total / n;
    if (!Number.isInteger(stride) || stride < 8)
      throw new Error(`tail: ${n} tenants in use do not divide ${total} into strides of 8 or more`);
    return Array.from({ length: n }, (_, i) => i * stride + offset);
  };
  const sets: Sets = {
    none: spread(smaller, 1),
    high: spread(smaller, 2),
    quiet: spread(smaller, 3),
    // The same tenants as the quiet ones when the limits agree ("the same, pushed"), else their own.
    pushed: plan.pushed.limit === plan.quiet.limit ? [] : spread(smaller, 4),
    noneLarge: spread(larger, 1),
    highLarge: spread(larger, 2),
    // The references: one tenant each, out of the sets' way.
    none1: [5],
    high1: [6],
  };
  if (sets.pushed.length === 0) sets.pushed = sets.quiet;
  const keys = KEYS_PER_TENANT - 1;

  log(
    `long tail: two databases, ${count(smaller)} and ${count(larger)} tenants (${count(n)} in use per scenario, ${KEYS_PER_TENANT} keys each), and two deployments of two isolates, all at once …`,
  );
  const [small, large] = await Promise.all([
    siblingDatabase(ctx.main, 'tail_small'),
    siblingDatabase(ctx.main, 'tail_large'),
  ]);
  const start = async (label: string, db: BenchDatabase, inspectorPort?: number): Promise<Deployment> => {
    const bindings = { ...ctx.bindings, DATABASE_URL: db.url };
    const workers = await startWorkers({
      bundle: ctx.bundle,
      workers: [1, 2].map((i) => ({ name: `gateway-${label}-${i}`, bindings })),
      withDurableObjects: true,
      inspectorPort,
      runtimeLog: path.join(plan.tmpDir, `workerd-${label}.log`),
    });
    return { label, total: db === small ? smaller : larger, db, workers, urls: workers.map((w) => w.url) };
  };
  const seedStarted = performance.now();
  const seeded = Promise.all([
    seedDeployment(ctx, small, smaller, [
      // Key KEYS_PER_TENANT of the unlimited tenants is the one (c) revokes; the load never presents it.
      { tenants: [...sets.none, ...sets.none1], limit: null, lastKey: KEYS_PER_TENANT },
      { tenants: [...sets.high, ...sets.high1], limit: TAIL_HIGH_LIMIT, lastKey: keys },
      { tenants: sets.quiet, limit: perMinute(plan.quiet.limit), lastKey: keys },
      ...(sets.pushed === sets.quiet
        ? []
        : [{ tenants: sets.pushed, limit: perMinute(plan.pushed.limit), lastKey: keys }]),
    ]),
    seedDeployment(ctx, large, larger, [
      { tenants: sets.noneLarge, limit: null, lastKey: keys },
      { tenants: sets.highLarge, limit: TAIL_HIGH_LIMIT, lastKey: keys },
    ]),
  ]).then(() => performance.now() - seedStarted);
  const [a, b, seedingMs] = await Promise.all([
    start('small', small, plan.profile ? ctx.inspectorPort : undefined),
    start('large', large),
    seeded,
  ]);
  log(`  seeded in ${(seedingMs / 1000).toFixed(1)} s; deployments up`);
  return { plan, ctx, sets, a, b, seedingMs };
}

export async function runTail({ plan, ctx, sets, a, b, seedingMs }: TailSetup): Promise<TailResults> {
  const { log } = ctx;
  const [smaller, larger] = plan.totals;
  const n = plan.inUse;
  const of = (total: number) => `${count(n)} of ${count(total)} tenants`;
  const deployments = [a, b];

  // Every tenant in use loaded into both isolates before the rounds, both deployments at once.
  log('  loading every tenant in use into both isolates of each deployment …');
  const warmSets = (d: Deployment) =>
    d === a
      ? [
          ...sets.none1,
          ...sets.high1,
          ...sets.none,
          ...sets.high,
          ...sets.quiet,
          ...(sets.pushed === sets.quiet ? [] : sets.pushed),
        ]
      : [...sets.noneLarge, ...sets.highLarge];
  const warmRuns = await Promise.all(
    deployments.map(async (d) => {
      const tenants = warmSets(d);
      const started = performance.now();
      const run = await runPaced(
        {
          mode: 'warm',
          urls: d.urls,
          generated: { tenants, keys: KEYS_PER_TENANT },
          ratePerTenant: 0,
          seconds: plan.warmDeadlineMs / 1000,
          maxInFlight: 16,
        },
        plan.tmpDir,
      );
      const ms = performance.now() - started;
      const loaded = run.summary.byStatus['200'] ?? 0;
      const warm: TailWarmup = {
        deployment: `${count(d.total)} tenants`,
        tenants: tenants.length,
        requests: tenants.length * d.urls.length,
        loaded,
        refused: run.summary.sent - loaded,
        unsent: run.summary.unsent,
        ms,
        firstRefusal: run.summary.firstRefusal,
      };
      log(
        `  ${warm.deployment}: ${count(loaded)} of ${count(warm.requests)} tenant loads in ${(ms / 1000).toFixed(1)} s` +
          (warm.refused || warm.unsent ? ` (${refusals(warm)})` : ''),
      );
      return { warm, run };
    }),
  );
  const warmRecords = warmRuns[0].run.records;

  const scenarios: TailScenario[] = [];
  const add = (s: TailScenario) => scenarios.push(s);
  const noLimit = 'no limit';
  const high = `limit ${count(TAIL_HIGH_LIMIT.requests_per_minute ?? 0)}/min`;
  const ref = (limit: string) => `1 tenant of ${count(smaller)}, ${limit}`;
  add({ name: ref(noLimit), deployment: a, tenants: sets.none1, limit: 'none', reference: null });
  add({
    name: `${of(smaller)}, ${noLimit}`,
    deployment: a,
    tenants: sets.none,
    limit: 'none',
    reference: ref(noLimit),
  });
  add({
    name: `${of(larger)}, ${noLimit}`,
    deployment: b,
    tenants: sets.noneLarge,
    limit: 'none',
    reference: ref(noLimit),
  });
  add({ name: ref(high), deployment: a, tenants: sets.high1, limit: 'high', reference: null });
  add({
    name: `${of(smaller)}, ${high}`,
    deployment: a,
    tenants: sets.high,
    limit: 'high',
    reference: ref(high),
  });
  add({
    name: `${of(larger)}, ${high}`,
    deployment: b,
    tenants: sets.highLarge,
    limit: 'high',
    reference: ref(high),
  });

  const generated = (tenants: number[]): Generated => ({ tenants, keys: KEYS_PER_TENANT - 1 });
  const closed = (s: TailScenario, seconds: number) =>
    runLoad({
      url: s.deployment.urls[0],
      urls: s.deployment.urls,
      targets: [],
      generated: generated(s.tenants),
      connections: plan.connections,
      seconds,
      tmpDir: plan.tmpDir,
    });
  const paced = (d: Deployment, tenants: number[], rate: number, seconds: number, spread: PacedSpread) =>
    runPaced(
      {
        mode: 'paced',
        urls: d.urls,
        generated: generated(tenants),
        ratePerTenant: rate,
        seconds,
        spread,
        maxInFlight: plan.maxInFlight,
      },
      plan.tmpDir,
    );

  if (plan.warmupSeconds > 0) {
    log(`  warm-up: ${plan.warmupSeconds} s of load per closed-loop scenario …`);
    for (const s of scenarios) await closed(s, plan.warmupSeconds);
  }

  const runs = new Map<string, TailRun[]>(scenarios.map((s) => [s.name, []]));
  let reading = await readCounters(deployments, plan.settleMs);
  for (let round = 1; round <= plan.rounds; round++) {
    for (const s of scenarios) {
      if (plan.runWarmupSeconds > 0) {
        await closed(s, plan.runWarmupSeconds);
        reading = await readCounters(deployments, 0);
      }
      const cpuBefore = await Promise.all(deployments.map(deploymentCpuMicros));
      const result = await closed(s, plan.seconds);
      const cpuAfter = await Promise.all(deployments.map(deploymentCpuMicros));
      const after = await readCounters(deployments, plan.settleMs);
      const cost = costOf(s.deployment, reading, after);
      reading = after;
      const cpu = deployments.map((_, i) => cpuAfter[i] - cpuBefore[i]);
      const own = deployments.indexOf(s.deployment);
      const cpuMicrosPerRequest = result.requests > 0 ? cpu[own] / result.requests : 0;
      const otherCpuMs = cpu.reduce((sum, used, i) => (i === own ? sum : sum + used), 0) / 1000;
      runs.get(s.name)!.push({ ...result, ...cost, cpuMicrosPerRequest, otherCpuMs });
      log(
        `  round ${round}/${plan.rounds} ${s.name}: ${Math.round(result.rps)} req/s, ${Math.round(cpuMicrosPerRequest)} µs CPU/req (other deployment ${Math.round(otherCpuMs)} ms), p99 ${result.p99.toFixed(1)} ms, ` +
          `${cost.gateCalls} gate calls, ${cost.feedCalls ?? '—'} feed polls, ${cost.transactions} transactions` +
          (result.bad ? `, ${result.bad} errors` : ''),
      );
    }
  }

  let profile: TailResults['profile'] = null;
  if (plan.profile) {
    const s = scenarios[1];
    log(`  CPU profile of isolate 1 under ${s.name} …`);
    const shares = await profileWhile(
      ctx.inspectorPort,
      a.workers[0].name,
      ctx.bundle.scriptPath,
      path.join(plan.tmpDir, 'tail-isolate-1.cpuprofile'),
      () => closed(s, plan.seconds),
    );
    profile = { name: `gateway isolate 1 of 2, ${s.name}`, shares: shares.slice(0, 8) };
    reading = await readCounters(deployments, plan.settleMs);
  }

  /** One paced run of deployment a as a row, charged with what the deployment did meanwhile. */
  const pacedRow = async (
    name: string,
    tenants: number[],
    load: { limit: number; rate: number; seconds: number; spread: PacedSpread },
  ) => {
    log(`  ${name}: ${load.seconds} s …`);
    const run = await paced(a, tenants, load.rate, load.seconds, load.spread);
    const after = await readCounters(deployments, plan.settleMs);
    const cost = costOf(a, reading, after);
    reading = after;
    const result = pacedResult(run, load.seconds);
    const per1000 = (v: number) => (result.requests > 0 ? (v / result.requests) * 1000 : 0);
    const row: TailRow = {
      name,
      load: `paced ${load.rate}/s × ${count(tenants.length)}, ${load.seconds} s`,
      tenantsInDatabase: smaller,
      tenantsInUse: tenants.length,
      limit: `${load.limit}/min`,
      runs: [{ ...result, ...cost }],
      requests: result.requests,
      median: result,
      reference: null,
      isReference: false,
      ratio: null,
      gatePer1000: per1000(cost.gateCalls),
      feedPer1000: cost.feedCalls === null ? null : per1000(cost.feedCalls),
      transactionsPer1000: per1000(cost.transactions),
      limited: result.limited,
      note:
        `${run.summary.unsent} unsent, ${run.summary.late} sent late (the gateway did not keep up)` +
        (run.summary.firstRefusal ? `; first error: ${run.summary.firstRefusal}` : ''),
    };
    log(
      `  ${Math.round(result.rps)} req/s answered (${run.summary.byStatus['200'] ?? 0} × 200, ${result.limited} × 429, ` +
        `${result.bad} other, ${run.summary.unsent} unsent, ${run.summary.late} late), ${cost.gateCalls} gate calls`,
    );
    return { run, row };
  };

  // (b), quiet: well under the limit, each tenant's requests on one isolate (`pinned`).
  const quietName = `${of(smaller)}, limit ${plan.quiet.limit}/min, paced ${plan.quiet.rate} req/s each, each on one isolate`;
  const quiet = await pacedRow(quietName, sets.quiet, { ...plan.quiet, spread: 'pinned' });
  const quietSet = new Set(sets.quiet);
  const quietRecords = [...warmRecords.filter((r) => quietSet.has(r.tenant)), ...quiet.run.records];
  const quietCheck = checkLimit(quietRecords, plan.quiet.limit, { from: 0, to: 0 });

  // (b), pushed: twice the limit, long enough for full calendar minutes (in a full run), alternating isolates.
  const pushedSeconds = plan.pushed.seconds ?? Math.ceil(120 + (60_000 - (Date.now() % 60_000)) / 1000 + 1);
  const pushedName = `${of(smaller)}, limit ${plan.pushed.limit}/min, pushed ${plan.pushed.rate} req/s each`;
  const pushed = await pacedRow(pushedName, sets.pushed, {
    ...plan.pushed,
    seconds: pushedSeconds,
    spread: 'alternate',
  });
  // Every request these tenants were sent: the warm-up's, the quiet run's when they are the same tenants.
  const pushedSet = new Set(sets.pushed);
  const pushedCheck = checkLimit(
    [
      ...warmRecords.filter((r) => pushedSet.has(r.tenant)),
      ...(sets.pushed === sets.quiet ? quiet.run.records : []),
      ...pushed.run.records,
    ],
    plan.pushed.limit,
    { from: pushed.run.summary.startedAt, to: pushed.run.summary.endedAt },
  );
  log(
    `  ${pushedCheck.over} tenant-minutes over the limit (most admitted ${pushedCheck.mostAdmitted}); ` +
      `${pushedCheck.fullMinutes} full tenant-minutes, ${pushedCheck.fullBelow90} below 90 %`,
  );

  // (c): revocations through isolate 1, seen through isolate 2, the unlimited tenants in use meanwhile.
  const revocations = await revoke(
    { ...plan.revocations, adminKey: ctx.adminKey, log },
    a.urls,
    sets.none,
    (tenants, rate, seconds) => paced(a, tenants, rate, seconds, 'alternate'),
  );

  const rows: TailRow[] = scenarios.map((s) => {
    const list = runs.get(s.name)!;
    const requests = list.reduce((sum, r) => sum + r.requests, 0);
    const per1000 = (v: number) => (requests > 0 ? (v / requests) * 1000 : 0);
    const feed = list.some((r) => r.feedCalls === null)
      ? null
      : list.reduce((x, r) => x + (r.feedCalls ?? 0), 0);
    return {
      name: s.name,
      load: `${plan.connections} connections`,
      tenantsInDatabase: s.deployment.total,
      tenantsInUse: s.tenants.length,
      limit: s.limit === 'none' ? noLimit : high,
      runs: list,
      requests,
      median: medianResult(list),
      reference: s.reference,
      isReference: scenarios.some((x) => x.reference === s.name),
      ratio: null,
      gatePer1000: per1000(list.reduce((x, r) => x + r.gateCalls, 0)),
      feedPer1000: feed === null ? null : per1000(feed),
      transactionsPer1000: per1000(list.reduce((x, r) => x + r.transactions, 0)),
      limited: 0,
    };
  });
  for (const row of rows) {
    const reference = rows.find((r) => r.name === row.reference);
    if (reference) row.ratio = row.median.rps / reference.median.rps;
  }
  rows.push(quiet.row, pushed.row);

  return {
    method:
      `Two deployments of the gateway (the instrumented bundle, bench/instrumented.js, for its call counters: every row here runs it), ` +
      `one with ${count(smaller)} tenants in its database and one with ${count(larger)}; each is two isolates ` +
      'in one workerd process (Miniflare), sharing its Durable Objects and queues, each isolate on its own direct ' +
      `socket. Closed-loop rows: ${generatorVersion()} with ${plan.connections} connections split over the two ` +
      'sockets (one thread per socket), so each isolate holds half the connections; paced rows: a Node client ' +
      "sending each tenant's requests on a fixed schedule (pushed and (c): alternating isolates). Each tenant in use presents its " +
      `${KEYS_PER_TENANT} keys in turn, on varied paths and query strings. ${plan.rounds} round(s) of ${plan.seconds} s ` +
      'of the closed-loop rows taken in turn, median reported' +
      (plan.runWarmupSeconds > 0
        ? `, each run right after ${plan.runWarmupSeconds} s of its own load, not measured (else it would begin after the other rows' runs, its leases lapsed and its process's caches cold)`
        : '') +
      '; the paced rows run once each, after the rounds ' +
      `(the quiet one for ${plan.quiet.seconds} s, several lease lives, with each tenant's requests on one isolate). ` +
      "CPU µs / req: the deployment's workerd process (both isolates and its Durable Objects) over a run, per request answered, median of the rounds. " +
      'Gate calls, feed polls and Postgres transactions are summed per 1,000 requests, each run charged with what its deployment did ' +
      `until ${(Math.max(1_100, plan.settleMs) / 1000).toFixed(1)} s after it ended.`,
    seedingMs,
    warmup: warmRuns.map((w) => w.warm),
    rows,
    pushed: { row: pushedName, check: pushedCheck, summary: pushed.run.summary, seconds: pushedSeconds },
    quiet: { row: quietName, check: quietCheck },
    revocations,
    profile,
  };
}
