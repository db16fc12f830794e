import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cloudflareTest, getRunnerName } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestProject, type TestSpecification } from 'vitest/node';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

const TIME_SCALE = 0.25;
const OUTAGE_TESTS = 'test/worker/**/*outage*.test.ts';
const BATTERY_OUTAGE_TESTS = 'test/battery/worker/**/*outage*.test.ts';

// wrangler.toml's usage queue consumers, as Miniflare runs them in tests: the same retries and dead-letter
// queue, but a delivery goes within 50 ms instead of the 5 s (30 s) a batch may wait to fill in production,
// so a test sees its usage written as soon as it sends it. (Miniflare takes each queue's settings whole.)
const TEST_QUEUE_CONSUMERS = {
  'gateway-usage': {
    maxBatchSize: 100,
    maxBatchTimeout: 0.05,
    maxRetries: 40,
    deadLetterQueue: 'gateway-usage-dlq',
    retryDelay: 60,
  },
  'gateway-usage-dlq': { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 40, retryDelay: 60 },
};

/** The battery's Node-side cases: raw HTTP to the gateway in a workerd process (test/battery/process/setup). */
function processProject(name: string, include: string[], timeoutMs: number, oneFileAtATime = false) {
  return {
    test: {
      name,
      include,
      environment: 'node',
      globalSetup: ['test/battery/process/setup.ts'],
      testTimeout: timeoutMs,
      hookTimeout: 120_000,
      // One gateway process serves the project. `battery-process` is one file of suites run one after
      // another (test/battery/process/process.test.ts), so a memory reading or a timing belongs to the suite
      // that takes it. Group 1 runs after the workerd files and the browser project (group 0): beside the
      // workerd files, the 1,000-request burst (case 16) and the PATCHed limit (case 21) starved each other
      // of the two cores and failed. (`fileParallelism: false` would put each such project in a group of its
      // own, one after another.)
      sequence: { groupOrder: 1 },
      fileParallelism: !oneFileAtATime,
    },
  };
}

// Read once per run: each test file's runtime is started with these options.
const bundles = new Map<string, string>();
let wranglerOptions: ReturnType<typeof unstable_getMiniflareWorkerOptions>['workerOptions'] | undefined;

function bundleText(scriptPath: string): string {
  let text = bundles.get(scriptPath);
  if (text === undefined) {
    text = readFileSync(scriptPath, 'utf8');
    bundles.set(scriptPath, text);
  }
  return text;
}

/**
 * The second gateway isolate of the worker project `project`, `gateway-b`: an auxiliary worker beside the
 * runner's (whose modules the tests share) running the gateway's bundle (test/setup/gateway-b.ts), so module
 * state (snapshots, wallets, clock) is its own. What it shares with the runner is what two isolates of one
 * deployment share, read from wrangler.toml, so a binding added there needs nothing here:
 * - every Durable Object namespace: bound to the runner's classes (`scriptName`), so an object is one object
 *   whichever isolate calls it, and it runs in the runner, where runInDurableObject, runDurableObjectAlarm
 *   and stub RPC keep working;
 * - every queue, as a producer (same name, same queue); the runner alone consumes;
 * - the vars, and the test bindings given.
 * The runner reaches it through GATEWAY_B (its fetch) and GATEWAY_B_TEST (test/worker/gateway-b-entry.ts).
 */
function gatewayB(project: string, scriptPath: string, bindings: Record<string, string>) {
  wranglerOptions ??= unstable_getMiniflareWorkerOptions('wrangler.toml').workerOptions;
  // A copy each time: the pool may adjust the options it is given.
  const workerOptions = structuredClone(wranglerOptions);
  // Where the project's Durable Object classes live: the pool names the runner after the project.
  const runner = getRunnerName({ name: project } as TestProject);
  type Designator = { className: string; scriptName?: string; useSQLite?: boolean };
  const durableObjects: Record<string, Designator> = {};
  for (const [binding, designator] of Object.entries(workerOptions.durableObjects ?? {})) {
    const own = (typeof designator === 'string' ? { className: designator } : designator) as Designator;
    durableObjects[binding] = { ...own, scriptName: own.scriptName ?? runner };
  }
  const { queueConsumers: _consumedByTheRunner, ...shared } = workerOptions;
  const worker = {
    ...shared,
    name: 'gateway-b',
    // The one module, named: given `scriptPath` alone, Miniflare parses 1.9 MB of JavaScript for imports
    // each time a test file's runtime starts (about 1 s of CPU per file). It imports only builtins.
    modulesRoot: path.dirname(scriptPath),
    modules: [{ type: 'ESModule' as const, path: scriptPath, contents: bundleText(scriptPath) }],
    bindings: { ...workerOptions.bindings, ...bindings },
    durableObjects,
  };
  const serviceBindings = {
    GATEWAY_B: worker.name,
    GATEWAY_B_TEST: { name: worker.name, entrypoint: 'GatewayBTest' },
  };
  return { worker, serviceBindings };
}

function workerProject(name: string, include: string[], exclude: string[]) {
  return {
    plugins: [
      cloudflareTest(({ inject }) => {
        const bindings = {
          DATABASE_URL: inject('databaseUrl'),
          DB_WS_PROXY: inject('wsProxy'),
          ADMIN_API_KEY: inject('adminApiKey'),
          SEALING_KEY: inject('sealingKey'),
          ALLOW_PRIVATE_UPSTREAMS: 'true',
          // wrangler.toml's `localhost` first (every tenant host of the other files, their install URLs), and
          // two service base domains nested under it (DESIGN.md "Host resolution", Services); their labels
          // (app, api, localhost) are reserved slugs already.
          BASE_DOMAINS: 'localhost,app.localhost=gui,api.localhost=api',
          TEST_UPSTREAM_URL: inject('upstreamUrl'),
          TEST_UPSTREAM_URL_B: inject('upstreamUrlB'),
          TEST_REFUSED_UPSTREAM_URL: inject('refusedUpstreamUrl'),
          TEST_HOOK_RECEIVER_URL: inject('hookReceiverUrl'),
          TEST_CONFIG_DATABASE_URL: inject('configDatabaseUrl'),
          TEST_SEALING_DATABASE_URL: inject('sealingDatabaseUrl'),
          TEST_CONTROL_URL: inject('testControlUrl'),
          // Every wait of core/time/clock's table (flushes, back-offs, throttle steps) at a quarter: tests
          // inject time instead of waiting for it. Timeouts and the contract's figures are not scaled.
          GATEWAY_TIME_SCALE: String(TIME_SCALE),
        };
        // A second isolate of the gateway beside the runner's, on the same Durable Objects, queues and
        // bindings; tests reach it through env.GATEWAY_B (test/worker/isolates.ts).
        const second = gatewayB(name, inject('gatewayBScript'), bindings);
        return {
          main: './src/index.ts',
          wrangler: { configPath: './wrangler.toml' },
          miniflare: {
            bindings,
            queueConsumers: TEST_QUEUE_CONSUMERS,
            serviceBindings: second.serviceBindings,
            workers: [second.worker],
          },
        };
      }),
    ],
    test: {
      name,
      include,
      exclude,
      globalSetup: ['test/setup/global.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // A runtime's files run one after another in it, without a fresh module graph each: importing the
      // gateway and the pool's runner per file cost about 4 s of CPU a file. What a file leaves behind is what
      // a long-lived isolate holds anyway (snapshots, the clock only moved forward), and the tests are written
      // for a database and Durable Objects shared with other files.
      isolate: false,
    },
  };
}

// The order files are handed to vitest's workers. Vitest's own sequencer runs projects one after another in
// name order, so the 43 `core` files (CPU-bound, half a minute on two cores) held every worker before the first
// workerd file began. Here the waiting projects go first: the browser's one long file, the two small outage
// projects (so their runtimes start beside the others, not after them), then the `worker` files, longest
// first as vitest orders them within a project; `core` goes last, where its files fill the workers that the
// last workerd files leave idle. Groups (`sequence.groupOrder`) still come first.
const PROJECT_ORDER = ['browser', 'worker-outage', 'battery-outage', 'worker', 'core'];

function rank(file: TestSpecification): number {
  const at = PROJECT_ORDER.indexOf(file.project.name);
  return at === -1 ? PROJECT_ORDER.length : at;
}

class ProjectOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array sort is stable: within a project the base order (failed first, then longest or largest) stays.
    return (await super.sort(files)).sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || rank(a) - rank(b),
    );
  }
}

export default defineConfig({
  test: {
    // Most files wait on the network (Postgres, upstreams, Durable Objects) rather than on the CPU: more of
    // them at once than the machine has cores, so their waits overlap.
    maxWorkers: 5,
    sequence: { sequencer: ProjectOrderSequencer },
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/core/**/*.test.ts'],
          environment: 'node',
          // Property tests and the OpenAPI build are CPU-bound, and share two cores with the rest of the run.
          testTimeout: 60_000,
          // The OpenAPI contract's beforeAll imports the whole app through Vite: slow while the run's setup
          // (Postgres, bundles) holds both cores.
          hookTimeout: 60_000,
          // Pure functions: one module graph for all its files, not a fresh process and graph per file.
          isolate: false,
        },
      },
      // Outage tests take the database away: they get their own database, switch, bridge and worker (the
      // Postgres server is the run's one, test/setup/shared-postgres.ts), apart from the files alongside.
      workerProject(
        'worker',
        ['test/worker/**/*.test.ts', 'test/battery/worker/**/*.test.ts'],
        [OUTAGE_TESTS, BATTERY_OUTAGE_TESTS],
      ),
      workerProject('worker-outage', [OUTAGE_TESTS], []),
      // One file (faults-outage): a second would run beside it on the same database switch, so it would
      // have to take the database down in the same file or get a project of its own.
      workerProject('battery-outage', [BATTERY_OUTAGE_TESTS], []),
      processProject('battery-process', ['test/battery/process/process.test.ts'], 120_000),
      // `npm run battery`: the long cases (the soak, the usage outage), only when asked for, so `npm test`
      // stays bounded. One after the other: side by side, a client of the outage case lost a connection
      // ("socket hang up") while the soak held the cores.
      ...(process.env.GATEWAY_BATTERY_LONG
        ? [processProject('battery-long', ['test/battery/long/**/*.test.ts'], 900_000, true)]
        : []),
      // Chromium against `npm run dev`, which the test starts itself: slow to start, so long timeouts.
      {
        test: {
          name: 'browser',
          // One file of suites (test/browser/browser.test.ts), each starting a local gateway and Chromium,
          // one after another, so two never race for ports or starve each other of the machine's two cores.
          // Beside the workerd files (group 0): it waits on pages more than it computes, and after them it
          // added its whole time to the run's.
          include: ['test/browser/browser.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/browser-database.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
