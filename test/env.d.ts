declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    testControlUrl: string;
    adminApiKey: string;
    sealingKey: string;
    upstreamUrl: string;
    upstreamUrlB: string;
    refusedUpstreamUrl: string;
    hookReceiverUrl: string;
    configDatabaseUrl: string;
    sealingDatabaseUrl: string;
    /** The browser project: its database on the run's Postgres, migrated (test/setup/browser-database.ts). */
    browserDatabaseUrl: string;
    /** The battery's process projects: the gateway in a workerd process, on a direct socket. */
    gatewayUrl: string;
    workerdPid: number;
    /** The file workerd's own stdout and stderr go to (its error traces), in the setup's temporary directory. */
    workerdLog: string;
  }
}

declare global {
  namespace Cloudflare {
    interface Env {
      ADMIN_API_KEY: string;
      DATABASE_URL: string;
      SEALING_KEY: string;
      TEST_CONTROL_URL: string;
      TEST_UPSTREAM_URL: string;
      TEST_UPSTREAM_URL_B: string;
      TEST_REFUSED_UPSTREAM_URL: string;
      TEST_HOOK_RECEIVER_URL: string;
      TEST_CONFIG_DATABASE_URL: string;
      TEST_SEALING_DATABASE_URL: string;
      GATEWAY_TIME_SCALE: string;
    }
  }
}

export {};
