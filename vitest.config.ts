import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

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
      {
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
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['test/setup/global.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
