declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    adminApiKey: string;
    sealingKey: string;
    upstreamUrl: string;
    upstreamUrlB: string;
  }
}

declare global {
  namespace Cloudflare {
    interface Env {
      ADMIN_API_KEY: string;
      DATABASE_URL: string;
      SEALING_KEY: string;
      TEST_UPSTREAM_URL: string;
      TEST_UPSTREAM_URL_B: string;
    }
  }
}

export {};
