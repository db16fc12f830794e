// `npm run bench`: the gateway beside a bare passthrough worker, nginx and the direct upstream, on this
// machine, in one run; writes bench/results.{md,json} and the README's table. `--quick`: a short smoke run
// (CI) that writes to $TMPDIR/gateway-bench and leaves the committed results alone.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/lib/ports';
import { spawnOwned, stopAll } from './cleanup';
import { startDatabase } from './database';
import { closeConnections, request } from './http';
import { generator, generatorVersion, runLoad, type Target } from './load';
import { type Measured, measure, type Scenario } from './measure';
import { nginxVersion, startNginx } from './nginx';
import { startPeer } from './peer-worker';
import { profileWhile } from './profile';
import { burstAgainstLimit, revocationDelay } from './reactions';
import { type Figure, type Results, renderMarkdown, type ScenarioResult, writeResults } from './report';
import type { Generated } from './requests';
import {
  configureTenantsInUse,
  generatedTenant,
  HIGH_LIMIT,
  KEYS_PER_TENANT,
  seedGeneratedTenants,
  seedInstance,
  seedTenant,
} from './seed';
import { prepareTail, runTail, type TailPlan } from './tail';
import { type Bundle, buildBundle, type RunningWorker, startWorker, wranglerSettings } from './workerd';

const root = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
// Database, wrk scripts, CPU profiles and --quick results: outside the tree, kept until the next run (the
// bundles are in node_modules/.cache/gateway-bundle, see ./workerd).
const tmpDir = path.join(os.tmpdir(), 'gateway-bench');
const plan = quick
  ? { connections: 32, rounds: 1, seconds: 2, warmup: 1, revokeTimeoutMs: 5_000 }
  : { connections: 32, rounds: 5, seconds: 4, warmup: 2, revokeTimeoutMs: 10_000 };
// The long tail (bench/tail.ts). --quick keeps every scenario with fewer tenants, rounds and seconds.
const tailPlan: Omit<TailPlan, 'tmpDir'> = quick
  ? {
      totals: [1_000, 10_000],
      inUse: 25,
      connections: 32,
      rounds: 1,
      seconds: 2,
      warmupSeconds: 0,
      runWarmupSeconds: 0,
      warmDeadlineMs: 12_000,
      settleMs: 0,
      quiet: { limit: 600, rate: 1, seconds: 3 },
      // About twice the limit within the run's 6 s (a quick run holds no full minute).
      pushed: { limit: 8, rate: 2, seconds: 6 },
      revocations: { count: 10, spacingMs: 100, timeoutMs: 2_000, backgroundRate: 1 },
      maxInFlight: 64,
      profile: false,
    }
  : {
      totals: [10_000, 100_000],
      inUse: 1_000,
      connections: 32,
      // Five: a 4 s run now and then holds the minute's end, when every one of the 2,000 tenant-isolate pairs
      // renews its lease at once (the paced rows measure renewals over minutes); one or two such runs do not
      // move the median of five, and the gate-call column still counts every call of every run.
      rounds: 5,
      seconds: 4,
      warmupSeconds: 2,
      runWarmupSeconds: 3,
      warmDeadlineMs: 200_000,
      settleMs: 5_000,
      // Several lease lives (≤ 30 s each), with a limit ten times the rate: the steady state's gate calls.
      quiet: { limit: 600, rate: 1, seconds: 120 },
      pushed: { limit: 60, rate: 2, seconds: null },
      revocations: { count: 20, spacingMs: 500, timeoutMs: 15_000, backgroundRate: 0.5 },
      maxInFlight: 256,
      profile: true,
    };
const PASSTHROUGH = 'bare passthrough worker';
const GATEWAY = 'gateway, 1 tenant';
const PEER = 'do-it-yourself peer (Hono, keys in KV, rate-limit binding)';
const BUNDLE_TARGET_KIB = 400;

const runStarted = performance.now();
const log = (line: string) =>
  console.log(`[${((performance.now() - runStarted) / 1000).toFixed(0).padStart(3)} s] ${line}`);
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function startUpstream(): Promise<{ url: string; port: number }> {
  const port = await freePort();
  const child = spawnOwned(
    'upstream',
    process.execPath,
    ['--import', 'tsx', path.join(root, 'bench/upstream.ts'), String(port)],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the bench upstream exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, port };
}

async function machine(): Promise<string> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const workerd = JSON.parse(
    await readFile(path.join(root, 'node_modules/workerd/package.json'), 'utf8'),
  ).version;
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.versions.node}, workerd ${workerd}`;
}

function asResult(m: Measured, passthroughRps: number | null): ScenarioResult {
  return { ...m, ratio: passthroughRps ? m.median.rps / passthroughRps : null };
}

const fmt = (v: number, digits = 2) => v.toFixed(digits);
const met = (ok: boolean): Figure['met'] => (ok ? 'yes' : 'no');

async function main() {
  log(
    `bench${quick ? ' --quick' : ''}: ${generatorVersion()}, ${plan.connections} connections, ${plan.rounds} round(s) of ${plan.seconds} s`,
  );
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  log(
    'building bundles (wrangler deploy --dry-run, or the cached build of the same inputs) and starting Postgres …',
  );
  // Each cached by its own inputs (bench/workerd.ts): the gateway's is the one the battery runs.
  const [gatewayBundle, passthroughBundle, peerBundle, instrumentedBundle, db] = await Promise.all([
    buildBundle(),
    buildBundle({ config: 'bench/passthrough.wrangler.toml', sources: ['bench/passthrough.ts'] }),
    buildBundle({ config: 'bench/peer.wrangler.toml', sources: ['bench/peer.ts'] }),
    buildBundle({ entry: 'bench/instrumented.js' }),
    startDatabase(tmpDir),
    // wrangler.toml's bindings as wrangler reads them (cached by content after the first run).
    wranglerSettings(),
    wranglerSettings('bench/peer.wrangler.toml'),
  ]);
  const origin = (b: Bundle) => (b.cached ? 'cached' : 'built');
  log(
    `  bundles: gateway ${origin(gatewayBundle)}, passthrough ${origin(passthroughBundle)}, peer ${origin(peerBundle)}, instrumented ${origin(instrumentedBundle)}`,
  );
  const upstream = await startUpstream();

  const sealingKey = randomBytes(32).toString('base64');
  const adminKey = `adm_${randomBytes(24).toString('hex')}`;
  const instanceId = await seedInstance(db.client, upstream.url, sealingKey);
  // The measured tenant: generated tenant 1 with its 100 keys, each presented in turn on varied paths and
  // query strings, so no per-key or per-URL cache sees the same request again and again.
  await seedGeneratedTenants(db.client, instanceId, 1, 1);
  await configureTenantsInUse(db.client, [1], { fromKey: 1, toKey: KEYS_PER_TENANT - 1 }, HIGH_LIMIT);
  const bench = generatedTenant(1);
  const benchLoad: Generated = { tenants: [1], keys: KEYS_PER_TENANT };
  const limited = await seedTenant(db.client, instanceId, 'benchlimit', {
    requests_per_minute: 100,
    requests_per_day: null,
  });
  const revoked = await seedTenant(db.client, instanceId, 'benchrevoke', HIGH_LIMIT);

  const bindings = {
    DATABASE_URL: db.url,
    DB_WS_PROXY: db.wsProxy,
    ADMIN_API_KEY: adminKey,
    SEALING_KEY: sealingKey,
    BASE_DOMAINS: 'localhost',
    CONTROL_HOST: 'control.localhost',
    UNKNOWN_HOST: 'reject',
    ALLOW_PRIVATE_UPSTREAMS: 'true',
  };
  // The long tail's databases and deployments, before anything is measured (bench/tail.ts).
  const tailSetup = await prepareTail(
    { ...tailPlan, tmpDir },
    {
      main: db,
      bundle: instrumentedBundle,
      upstreamUrl: upstream.url,
      sealingKey,
      adminKey,
      bindings,
      inspectorPort: await freePort(),
      log,
    },
  );
  const workerdStarted = performance.now();
  const inspectorPort = await freePort();
  const gateway = await startWorker({
    name: 'gateway',
    bundle: gatewayBundle,
    bindings,
    withDurableObjects: true,
    inspectorPort,
  });
  // A control-host path that needs no database: the time is the runtime's and the bundle's, nothing else.
  const coldStartMs =
    (await request(gateway.url, { host: 'control.localhost', path: '/cold' })).at - workerdStarted;
  const tenantStarted = performance.now();
  const firstTenant = await request(gateway.url, { host: bench.host, headers: bearer(bench.secret) });
  const firstTenantMs = firstTenant.at - tenantStarted;
  if (firstTenant.status !== 200)
    throw new Error(`the gateway refused the bench tenant: ${firstTenant.status} ${firstTenant.body}`);
  const passthroughInspector = await freePort();
  const passthrough = await startWorker({
    name: 'passthrough',
    bundle: passthroughBundle,
    bindings: { UPSTREAM_URL: upstream.url },
    inspectorPort: passthroughInspector,
  });
  const peerInspector = await freePort();
  const peer = await startPeer(peerBundle, upstream.url, peerInspector, benchLoad);
  const nginx = nginxVersion();
  const nginxUrl = nginx ? await startNginx(tmpDir, upstream.port) : null;

  const notes: string[] = [];
  const measurePlan = { connections: plan.connections, rounds: plan.rounds, seconds: plan.seconds, tmpDir };
  const one = (host: string, headers: Record<string, string> = {}): Target[] => [{ host, headers }];
  const warmupSeconds = plan.warmup;
  const baseScenarios: Scenario[] = [
    { name: 'direct upstream', url: upstream.url, targets: one('upstream'), warmupSeconds },
    ...(nginxUrl
      ? [{ name: `nginx reverse proxy (${nginx})`, url: nginxUrl, targets: one('upstream'), warmupSeconds }]
      : []),
    // The workers, each at 32 connections and then all at one (latency without queueing), in this order.
    ...[undefined, 1].flatMap((connections) =>
      [
        { name: PASSTHROUGH, worker: passthrough, usesDatabase: false },
        { name: GATEWAY, worker: gateway, usesDatabase: true },
        { name: PEER, worker: peer, usesDatabase: false },
      ].map(
        (w): Scenario => ({
          name: connections ? `${w.name}, 1 connection` : w.name,
          url: w.worker.url,
          targets: [],
          generated: benchLoad,
          warmupSeconds,
          connections,
          usesDatabase: w.usesDatabase,
          pid: w.worker.pid,
        }),
      ),
    ),
  ];
  log('scenarios 1–3 and 5: direct, nginx, passthrough, gateway …');
  const base = await measure(baseScenarios, measurePlan, db, log);

  const profile = (name: string, worker: RunningWorker, port: number, bundle: Bundle) =>
    profileWhile(
      port,
      worker.name,
      bundle.scriptPath,
      path.join(tmpDir, `${name.replace(/\W+/g, '-')}.cpuprofile`),
      () =>
        runLoad({
          url: worker.url,
          targets: [],
          generated: benchLoad,
          connections: plan.connections,
          seconds: plan.seconds,
          tmpDir,
        }),
    ).then((shares) => ({ name, shares: shares.slice(0, 8) }));
  log('CPU profiles of the passthrough worker, the gateway and the peer …');
  const profiles = [
    await profile(PASSTHROUGH, passthrough, passthroughInspector, passthroughBundle),
    await profile(GATEWAY, gateway, inspectorPort, gatewayBundle),
    await profile(PEER, peer, peerInspector, peerBundle),
  ];

  log('accuracy: 1,000 concurrent requests against 100/min …');
  const burst = await burstAgainstLimit(gateway.url, limited, 1_000);
  log(`  admitted ${burst.admitted}, limited ${burst.limited}, other ${burst.other}`);
  const limiting = burst.limited > 0;
  log('reaction: key revocation seen by a client polling every 10 ms (one isolate) …');
  const revocation = await revocationDelay(gateway.url, revoked, adminKey, db.client, plan.revokeTimeoutMs);
  log(`  ${revocation.ms === null ? 'no 401' : `${fmt(revocation.ms, 0)} ms`} via ${revocation.via}`);

  const tailStarted = performance.now();
  const tail = await runTail(tailSetup);
  log(`  long tail done in ${fmt((performance.now() - tailStarted) / 1000, 0)} s`);
  if (tail.profile) profiles.push(tail.profile);

  const byName = (name: string) => base.find((m) => m.name === name)!;
  const passthroughRps = byName(PASSTHROUGH).median.rps;
  const gatewayOne = byName(GATEWAY);
  // Rows at one connection compare with the passthrough at one connection.
  const reference = (m: Measured) =>
    m.name.endsWith('1 connection') ? byName(`${PASSTHROUGH}, 1 connection`).median.rps : passthroughRps;
  const scenarios: ScenarioResult[] = [
    ...base.map((m) => asResult(m, reference(m))),
    ...(nginxUrl
      ? []
      : [
          {
            name: 'nginx reverse proxy',
            median: null,
            rounds: [],
            ratio: null,
            dbQueriesPer1000: null,
            note: 'not installed',
          },
        ]),
  ];
  const ratio = gatewayOne.median.rps / passthroughRps;
  // At one connection nothing queues: the difference is what the gateway adds to each request.
  const addedP99 =
    byName(`${GATEWAY}, 1 connection`).median.p99 - byName(`${PASSTHROUGH}, 1 connection`).median.p99;
  const addedP50 =
    byName(`${GATEWAY}, 1 connection`).median.p50 - byName(`${PASSTHROUGH}, 1 connection`).median.p50;
  // CPU of the workerd process per request, gateway minus passthrough, both at 32 connections.
  const addedCpu =
    (gatewayOne.median.cpuMicrosPerRequest ?? Number.NaN) -
    (byName(PASSTHROUGH).median.cpuMicrosPerRequest ?? Number.NaN);
  // The tail's rows against their 1-tenant references (closed-loop rows with a ratio): issue 16 asks for at
  // least 0.95× (many tenants in use cost no more than one); faster is not a failure.
  const tailVsOne: Figure[] = tail.rows
    .filter((r) => r.ratio !== null)
    .map((r) => ({
      figure: `long tail: ${r.name} vs ${r.reference} (rps)`,
      value: `${fmt(r.ratio ?? 0, 2)}×`,
      target: '≥ 0.95×',
      met: met((r.ratio ?? 0) >= 0.95),
    }));
  const worstTail = tail.rows.reduce((w, r) => (r.transactionsPer1000 > w.transactionsPer1000 ? r : w));
  const warmQueries = Math.max(gatewayOne.dbQueriesPer1000 ?? 0, worstTail.transactionsPer1000);
  const check = tail.pushed.check;
  const share = (v: number | null) => (v === null ? '—' : `${fmt(v * 100, 0)} %`);
  const rev = tail.revocations;
  const msOf = (v: number | null) => (v === null ? '—' : `${fmt(v, 0)} ms`);
  const quietRow = tail.rows.find((r) => r.name === tail.quiet.row);
  // Polls come with traffic, ahead of time in the background: per second and isolate (two per deployment) of
  // the longest steady load, the quiet paced row's 120 s. A 4 s closed-loop run holds one poll more per
  // isolate than its length: the first request after the idle gap between runs finds the last poll stale.
  const pollsPerSecond = quietRow
    ? ((quietRow.feedPer1000 ?? 0) * quietRow.median.rps) / 1000 / 2
    : Number.NaN;
  const highOne = tail.rows.find((r) => r.reference === null && r.name.includes('10,000,000'));
  const bundleKiB = gatewayBundle.gzipBytes / 1024;
  const peerOne = byName(PEER);
  const cpuOver = (m: Measured, base: Measured) =>
    (m.median.cpuMicrosPerRequest ?? Number.NaN) - (base.median.cpuMicrosPerRequest ?? Number.NaN);
  const figures: Figure[] = [
    {
      figure: 'gateway rps / passthrough rps',
      value: `${fmt(ratio)}×`,
      target: '≥ 0.80×',
      met: met(ratio >= 0.8),
    },
    {
      figure: 'CPU per request added by the gateway (its workerd process, 32 connections)',
      value: `${fmt(addedCpu, 0)} µs`,
      target: '≤ 45 µs',
      met: met(addedCpu <= 45),
    },
    {
      figure: `${PEER}: rps / passthrough rps, CPU per request over the passthrough's, p50 added (1 connection)`,
      value: `${fmt(peerOne.median.rps / passthroughRps)}×, ${fmt(cpuOver(peerOne, byName(PASSTHROUGH)), 0)} µs, ${fmt((byName(`${PEER}, 1 connection`).median.p50 - byName(`${PASSTHROUGH}, 1 connection`).median.p50) * 1000, 0)} µs`,
      target: '— (what a team would write for itself)',
      met: 'n/a',
    },
    {
      figure: "gateway against the peer: rps / peer rps, CPU per request over the peer's",
      value: `${fmt(gatewayOne.median.rps / peerOne.median.rps)}×, ${fmt(cpuOver(gatewayOne, peerOne), 0)} µs`,
      target: '—',
      met: 'n/a',
    },
    {
      figure: 'p50 added by the gateway (1 connection)',
      value: `${fmt(addedP50 * 1000, 0)} µs`,
      target: '≤ 100 µs',
      met: met(addedP50 <= 0.1),
    },
    {
      figure: 'p99 added by the gateway (1 connection)',
      value: `${fmt(addedP99)} ms`,
      target: '≤ 2 ms',
      met: met(addedP99 <= 2),
    },
    ...tailVsOne,
    {
      figure: `long tail: feed polls per second per isolate under steady traffic (${tail.quiet.row})`,
      value: fmt(pollsPerSecond),
      target: '≤ 1.2',
      met: met(pollsPerSecond <= 1.2),
    },
    {
      figure: 'admitted of 1,000 concurrent at 100/min',
      value: limiting
        ? `${burst.admitted} (${burst.limited} × 429, ${burst.other} other)`
        : `n/a (not implemented: ${burst.admitted} of 1,000 admitted, no 429)`,
      target: 'exactly 100',
      met: limiting ? met(burst.admitted === 100) : 'n/a',
    },
    {
      figure: 'key revocation → first 401, one isolate (polling every 10 ms)',
      value:
        revocation.ms === null
          ? `no 401 within ${plan.revokeTimeoutMs / 1000} s`
          : `${fmt(revocation.ms, 0)} ms`,
      target: '≤ 1 s',
      met: met(revocation.ms !== null && revocation.ms <= 1_000),
    },
    {
      figure: `long tail: keys revoked through isolate 1 → first 401 through isolate 2 (${rev.delays.length + rev.missed} revocations, ${rev.tenantsInUse.toLocaleString('en')} tenants in use): p50 / p99 / max`,
      value:
        `${msOf(rev.p50)} / ${msOf(rev.p99)} / ${msOf(rev.max)}` +
        (rev.missed ? ` (${rev.missed} no 401 within ${tailPlan.revocations.timeoutMs / 1000} s)` : '') +
        (rev.refused.length ? ` (${rev.refused.length} refused: ${rev.refused[0]})` : ''),
      target: '≤ 1 s',
      met: met(rev.missed === 0 && rev.refused.length === 0 && rev.max !== null && rev.max <= 1_000),
    },
    {
      figure:
        "long tail: the same, from the DELETE's answer (the change acknowledged) → first 401 through isolate 2: p50 / p99 / max",
      value: `${msOf(rev.fromAnswer.p50)} / ${msOf(rev.fromAnswer.p99)} / ${msOf(rev.fromAnswer.max)}`,
      target: '≤ 1 s',
      met: met(rev.missed === 0 && rev.fromAnswer.max !== null && rev.fromAnswer.max <= 1_000),
    },
    {
      figure:
        "long tail: the same, from the DELETE's answer → the sending of the last request still served with the key (the contract's bound, without the probe's own answer time): p50 / p99 / max",
      value: `${msOf(rev.lastServed.p50)} / ${msOf(rev.lastServed.p99)} / ${msOf(rev.lastServed.max)}`,
      target: '≤ 1 s',
      met: met(rev.missed === 0 && rev.lastServed.max !== null && rev.lastServed.max <= 1_000),
    },
    {
      figure: `long tail: ${tail.pushed.row}, tenant-minutes admitting more than ${check.limit}`,
      value: `${check.over} of ${check.tenantMinutes.toLocaleString('en')} (most admitted in one: ${check.mostAdmitted})`,
      target: '0',
      met: met(check.over === 0 && check.tenantMinutes > 0),
    },
    check.fullMinutes > 0
      ? {
          figure: `long tail: ${tail.pushed.row}, full minutes admitting ≥ 90 % of the limit`,
          value:
            `${check.fullMinutes - check.fullBelow90} of ${check.fullMinutes.toLocaleString('en')} (lowest ${share(check.lowestFullShare)})` +
            (check.fullShortOfLoad ? `; in ${check.fullShortOfLoad} the load fell short of the limit` : ''),
          target: 'all',
          met: met(check.fullBelow90 === 0),
        }
      : {
          figure: `long tail: ${tail.pushed.row}, minutes (none full in a ${tail.pushed.seconds} s run) admitting ≥ 90 % of min(limit, answered)`,
          value: `${check.partialMinutes - check.partialBelow90} of ${check.partialMinutes.toLocaleString('en')} (lowest ${share(check.lowestPartialShare)})`,
          target: 'all',
          met: met(check.partialMinutes > 0 && check.partialBelow90 === 0),
        },
    {
      figure: `long tail: ${tail.quiet.row}, tenant-minutes over the limit`,
      value: `${tail.quiet.check.over} of ${tail.quiet.check.tenantMinutes.toLocaleString('en')}`,
      target: '0',
      met: met(tail.quiet.check.over === 0),
    },
    {
      figure: `long tail: ${tail.quiet.row}, gate calls per 1,000 requests`,
      value: quietRow ? fmt(quietRow.gatePer1000, 1) : '—',
      target: '≤ 50',
      met: met(quietRow !== undefined && quietRow.gatePer1000 <= 50),
    },
    {
      figure: `gate calls per 1,000 warm requests (${highOne?.name ?? 'high limit, 1 tenant'}, two isolates)`,
      value: highOne ? fmt(highOne.gatePer1000, 1) : '—',
      target: '— (1,000 would be one call per request)',
      met: 'n/a',
    },
    {
      figure: 'database queries per 1,000 warm requests (worst scenario)',
      value: `${fmt(warmQueries, 1)} (${warmQueries === worstTail.transactionsPer1000 ? worstTail.name : GATEWAY})`,
      target: '0',
      met: met(warmQueries === 0),
    },
    {
      figure: 'bundle (gzip -9)',
      value: `${fmt(bundleKiB, 1)} KiB (${fmt(gatewayBundle.bytes / 1024, 0)} KiB raw)`,
      target: `≤ ${BUNDLE_TARGET_KIB} KiB`,
      met: met(bundleKiB <= BUNDLE_TARGET_KIB),
    },
    {
      figure: 'cold start: workerd start → first response',
      value: `${fmt(coldStartMs, 0)} ms`,
      target: '—',
      met: 'n/a',
    },
    {
      figure: 'first request of a tenant (snapshot from Postgres)',
      value: `${fmt(firstTenantMs, 1)} ms`,
      target: '—',
      met: 'n/a',
    },
  ];
  notes.push(
    `Revocation via ${revocation.via}. The one-isolate figure is seen by the isolate that made the change; the ` +
      "long tail's crosses isolates (revoked through isolate 1, polled through isolate 2), which the contract " +
      'allows one feed poll (≤ 1 s).',
  );
  const results: Results = {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    machine: await machine(),
    method:
      `Load: ${generatorVersion()}, ${plan.connections} connections, on the same machine as everything else; warm-up excluded; ` +
      `${plan.rounds} rounds of ${plan.seconds} s taken in turn across scenarios, median reported. Workers run from their ` +
      "`wrangler deploy --dry-run` bundles in workerd (Miniflare, direct socket, no proxy, without Miniflare's subrequest worker); upstream: a Node HTTP server " +
      'answering 12 bytes; database: embedded Postgres through the WebSocket bridge; Durable Object files in /dev/shm. The ' +
      "passthrough, the gateway and the peer each send the measured tenant's 100 keys in turn on varied paths and query " +
      'strings. DB queries are transactions counted on ' +
      'the Postgres side (pg_stat_database) during the rounds. CPU µs / req: the user + system time of the ' +
      "worker's workerd process over a round (/proc/<pid>/stat), divided by the requests it answered (workerd has no " +
      'per-request accounting locally).',
    scenarios,
    tail,
    figures,
    profiles,
    notes,
  };
  await writeResults(
    results,
    quick ? tmpDir : path.join(root, 'bench'),
    quick ? null : path.join(root, 'README.md'),
  );
  log(`\n${renderMarkdown(results)}\n`);
  log(
    `written to ${quick ? `${tmpDir}/results.{md,json}` : 'bench/results.{md,json} and README.md'} in ${fmt((performance.now() - runStarted) / 1000, 0)} s (load generator: ${generator})`,
  );
}

main()
  .catch((err) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    closeConnections();
    await stopAll();
  });
