// `npm run bench:instructions`: machine instructions per request of the passthrough worker, the gateway and
// the do-it-yourself peer, counted by valgrind's callgrind on their workerd process. CPU time on this machine
// moves by ±20 % from one second to the next (a fixed loop in Node takes 280–390 ms), so a hot-path change
// of a few per cent is lost in `npm run bench`'s figures; an instruction count mostly agrees from one run to
// the next within about 3 %, though now and then a run counts ~15 % more (its profile shows V8's interpreter
// busier: take the lower of two runs). It is not time: a cache miss costs no instruction. Judge a change here,
// then confirm it with `npm run bench`. Needs valgrind (apt-get install valgrind); about three minutes, or one
// per worker named on the command line (`npm run bench:instructions -- gateway`; passthrough, gateway, peer).
// Only when named: `floor`, the contract's forward step alone in five levels (./floor.ts, about eight
// minutes), and `gate`, what one lease call costs (./gate-calls, about five minutes).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/lib/ports';
import { counted, SWEEPER_SPIN_SHARE } from './callgrind';
import { spawnOwned, stopAll } from './cleanup';
import { startDatabase } from './database';
import { gateCallInstructions } from './gate-calls';
import { runLoad } from './load';
import { startPeer } from './peer-worker';
import type { Generated } from './requests';
import {
  configureTenantsInUse,
  HIGH_LIMIT,
  KEYS_PER_TENANT,
  seedGeneratedTenants,
  seedInstance,
} from './seed';
import { buildBundle, type RunningWorker, startWorker } from './workerd';

const root = path.resolve(import.meta.dirname, '..');
const tmpDir = path.join(os.tmpdir(), 'gateway-bench-instructions');
const workerdBinary = path.join(root, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd');
// Under valgrind a request takes ~50 times as long. V8's tiers count calls, not time: every worker is warmed
// with the same number of requests (a timed warm-up optimised a slower worker less, and its counts came out
// ~10 % high), then counted over the same number again, in short runs until each number is reached.
const WARM_REQUESTS = 4_000;
const COUNTED_REQUESTS = 1_500;
const RUN_SECONDS = 2;
const CONNECTIONS = 4;
const GATE_TENANTS = 300;

const PASSTHROUGH = 'bare passthrough worker';
const log = (line: string) => console.log(line);

async function startUpstream(): Promise<string> {
  const port = await freePort();
  const child = spawnOwned(
    'upstream',
    process.execPath,
    ['--import', 'tsx', path.join(root, 'bench/upstream.ts'), String(port)],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the bench upstream exited (${code})`)));
  });
  return `http://127.0.0.1:${port}`;
}

async function count(
  worker: RunningWorker,
  load: Generated,
): Promise<{ requests: number; perRequest: number }> {
  const spec = { url: worker.url, targets: [], generated: load, connections: CONNECTIONS, tmpDir };
  // Short runs until `requests` are answered; every answer must be a 200.
  const serve = async (requests: number) => {
    let answered = 0;
    while (answered < requests) {
      const run = await runLoad({ ...spec, seconds: RUN_SECONDS });
      if (run.bad > 0) throw new Error(`${worker.name}: ${run.bad} of ${run.requests} answers were not 200`);
      answered += run.requests;
    }
    return answered;
  };
  await serve(WARM_REQUESTS);
  for (let attempt = 1; ; attempt++) {
    let requests = 0;
    const count = await counted(tmpDir, worker.pid, async () => {
      requests = await serve(COUNTED_REQUESTS);
    });
    if (count.sweeperShare <= SWEEPER_SPIN_SHARE || attempt === 3)
      return { requests, perRequest: count.instructions / requests };
    log(`  V8's sweeper spun (${Math.round(count.sweeperShare * 100)} % of the count): counting again …`);
  }
}

async function main() {
  if (spawnSync('valgrind', ['--version']).error) throw new Error('valgrind is not installed');
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  // Miniflare starts whatever MINIFLARE_WORKERD_PATH names: workerd under callgrind, counting from the start
  // (the counters are zeroed after the warm-up), one output file per process.
  const wrapper = path.join(tmpDir, 'workerd');
  await writeFile(
    wrapper,
    `#!/bin/sh\nexec valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=${tmpDir}/callgrind.%p.out ${workerdBinary} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  process.env.MINIFLARE_WORKERD_PATH = wrapper;

  const [gatewayBundle, passthroughBundle, peerBundle, db] = await Promise.all([
    buildBundle(),
    buildBundle({ config: 'bench/passthrough.wrangler.toml', sources: ['bench/passthrough.ts'] }),
    buildBundle({ config: 'bench/peer.wrangler.toml', sources: ['bench/peer.ts'] }),
    startDatabase(tmpDir),
  ]);
  const upstreamUrl = await startUpstream();
  const sealingKey = randomBytes(32).toString('base64');
  const instanceId = await seedInstance(db.client, upstreamUrl, sealingKey);
  // The same measured tenant as `npm run bench`: generated tenant 1, limited, its 100 keys in turn.
  await seedGeneratedTenants(db.client, instanceId, 1, 1);
  await configureTenantsInUse(db.client, [1], { fromKey: 1, toKey: KEYS_PER_TENANT - 1 }, HIGH_LIMIT);
  const load: Generated = { tenants: [1], keys: KEYS_PER_TENANT };

  const rows: { name: string; perRequest: number; requests: number }[] = [];
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith('--'));
  // Two counts of one worker, each in a process of its own, now and then differ by 15 % or more (V8's
  // optimisations are not the same in every process): --runs=N counts each in N processes, keeps the lowest.
  const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 1);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs= takes a whole number from 1');
  const measure = async (key: string, name: string, start: () => Promise<RunningWorker>) => {
    if (only.length > 0 && !only.includes(key)) return;
    const counts: { requests: number; perRequest: number }[] = [];
    for (let run = 1; run <= runs; run++) {
      log(
        `${name}${runs > 1 ? ` (${run} of ${runs})` : ''}: starting under callgrind, ${WARM_REQUESTS} requests to warm up, then ${COUNTED_REQUESTS} counted …`,
      );
      const counted = await count(await start(), load);
      counts.push(counted);
      log(
        `  ${Math.round(counted.perRequest).toLocaleString('en')} instructions per request (${counted.requests} requests)`,
      );
    }
    const lowest = counts.reduce((a, b) => (b.perRequest < a.perRequest ? b : a));
    rows.push({ name, ...lowest });
  };
  await measure('passthrough', PASSTHROUGH, () =>
    startWorker({ name: 'passthrough', bundle: passthroughBundle, bindings: { UPSTREAM_URL: upstreamUrl } }),
  );
  if (only.includes('floor')) {
    const floorBundle = await buildBundle({
      config: 'bench/floor.wrangler.toml',
      sources: ['bench/floor.ts', 'src/core'],
    });
    const floors: [string, string][] = [
      ...['0', '1', '2', '3', '4'].map((level): [string, string] => [level, `level ${level}`]),
      ['copy', 'the client headers copied'],
      ['asserted', 'the copy + the 13 asserted fields'],
    ];
    for (const [level, label] of floors)
      await measure('floor', `forward step alone, ${label} (bench/floor.ts)`, () =>
        startWorker({
          name: `floor-${level}`,
          bundle: floorBundle,
          bindings: { UPSTREAM_URL: upstreamUrl, FLOOR: level },
        }),
      );
  }
  const gatewayBindings = {
    DATABASE_URL: db.url,
    DB_WS_PROXY: db.wsProxy,
    ADMIN_API_KEY: `adm_${randomBytes(24).toString('hex')}`,
    SEALING_KEY: sealingKey,
    BASE_DOMAINS: 'localhost',
    CONTROL_HOST: 'control.localhost',
    UNKNOWN_HOST: 'reject',
    ALLOW_PRIVATE_UPSTREAMS: 'true',
  };
  await measure('gateway', 'gateway, 1 tenant', async () =>
    startWorker({
      name: 'gateway',
      bundle: gatewayBundle,
      withDurableObjects: true,
      bindings: gatewayBindings,
    }),
  );
  await measure('peer', 'do-it-yourself peer', async () =>
    startPeer(peerBundle, upstreamUrl, await freePort(), load),
  );

  if (only.includes('gate')) {
    log(`lease calls: ${GATE_TENANTS} limited tenants, two isolates, under callgrind …`);
    const cost = await gateCallInstructions({
      bundle: gatewayBundle,
      bindings: gatewayBindings,
      client: db.client,
      instanceId,
      tmpDir,
      tenants: GATE_TENANTS,
      counted: (pid, run) => counted(tmpDir, pid, run),
      log,
    });
    const k = (x: number) => Math.round(x).toLocaleString('en');
    log(
      `  one lease call, mean of ${cost.rounds} rounds: ${k(cost.started)} instructions to a running gate, ${k(cost.evicted)} to an evicted one`,
    );
  }

  const base = rows.find((r) => r.name === PASSTHROUGH)?.perRequest;
  log('\n| worker | instructions / request | over the passthrough |\n| --- | --: | --: |');
  for (const r of rows)
    log(
      `| ${r.name} | ${Math.round(r.perRequest).toLocaleString('en')} | ${base === undefined || r.name === PASSTHROUGH ? '' : `${r.perRequest >= base ? '+' : '−'}${Math.round(Math.abs(r.perRequest - base)).toLocaleString('en')} (${(r.perRequest / base).toFixed(2)}×)`} |`,
    );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
