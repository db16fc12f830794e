import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

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
function processProject(name: string, include: string[], timeoutMs: number) {
  return {
    test: {
      name,
      include,
      environment: 'node',
      globalSetup: ['test/battery/process/setup.ts'],
      testTimeout: timeoutMs,
      hookTimeout: 120_000,
      // One gateway process serves every file of the project: files run one at a time, so a memory
      // reading or a timing belongs to the test that takes it.
      fileParallelism: false,
    },
  };
}

function workerProject(name: string, include: string[], exclude: string[], opts = { oneFileAtATime: false }) {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: './src/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            DATABASE_URL: inject('databaseUrl'),
            DB_WS_PROXY: inject('wsProxy'),
            ADMIN_API_KEY: inject('adminApiKey'),
            SEALING_KEY: inject('sealingKey'),
            ALLOW_PRIVATE_UPSTREAMS: 'true',
            TEST_UPSTREAM_URL: inject('upstreamUrl'),
            TEST_UPSTREAM_URL_B: inject('upstreamUrlB'),
            TEST_REFUSED_UPSTREAM_URL: inject('refusedUpstreamUrl'),
            TEST_HOOK_RECEIVER_URL: inject('hookReceiverUrl'),
            TEST_CONFIG_DATABASE_URL: inject('configDatabaseUrl'),
            TEST_CONTROL_URL: inject('testControlUrl'),
            // Every wait of core/time/clock's table (flushes, back-offs, throttle steps) at a quarter: tests
            // inject time instead of waiting for it. Timeouts and the contract's figures are not scaled.
            GATEWAY_TIME_SCALE: String(TIME_SCALE),
          },
          queueConsumers: TEST_QUEUE_CONSUMERS,
        },
      })),
    ],
    test: {
      name,
      include,
      exclude,
      globalSetup: ['test/setup/global.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // Outage files share one database switch: one taking the database down must not catch another.
      fileParallelism: !opts.oneFileAtATime,
    },
  };
}

export default defineConfig({
  test: {
    // Most files wait on the network (Postgres, upstreams, Durable Objects) rather than on the CPU: more of
    // them at once than the machine has cores, so their waits overlap.
    maxWorkers: 5,
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/core/**/*.test.ts'],
          environment: 'node',
          // Property tests and the OpenAPI build are CPU-bound, and share two cores with the rest of the run.
          testTimeout: 60_000,
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
      workerProject('battery-outage', [BATTERY_OUTAGE_TESTS], [], { oneFileAtATime: true }),
      processProject('battery-process', ['test/battery/process/**/*.test.ts'], 120_000),
      // `npm run battery`: the long cases (the soak), only when asked for, so `npm test` stays bounded.
      ...(process.env.GATEWAY_BATTERY_LONG
        ? [processProject('battery-long', ['test/battery/long/**/*.test.ts'], 900_000)]
        : []),
      // Chromium against `npm run dev`, which the test starts itself: slow to start, so long timeouts.
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/browser-database.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
