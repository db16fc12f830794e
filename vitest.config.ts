import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const OUTAGE_TESTS = 'test/worker/**/*outage*.test.ts';

function workerProject(name: string, include: string[], exclude: string[]) {
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
          },
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
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'core',
          include: ['test/core/**/*.test.ts'],
          environment: 'node',
        },
      },
      // Outage tests take the database away: they get their own Postgres, bridge and worker, apart from
      // the files that run alongside.
      workerProject('worker', ['test/worker/**/*.test.ts'], [OUTAGE_TESTS]),
      workerProject('worker-outage', [OUTAGE_TESTS], []),
      // Chromium against `npm run dev`, which the test starts itself: slow to start, so long timeouts.
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
