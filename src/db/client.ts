import { Client, neonConfig } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import { withTimeout } from '../core/time/timeout';
import { DatabaseUnavailableError } from './unavailable';

// Without the schema: nothing uses drizzle's relational queries (`db.query`), and handing it the schema made
// every connection rebuild their table map, about a millisecond of CPU per request.
export type Database = NeonDatabase;
export type Connection = { db: Database; close: () => Promise<void> };

const CONNECT_TIMEOUT_MS = 5_000;

type DatabaseEnv = { DATABASE_URL?: string; DB_WS_PROXY?: string };

let configuredProxy: string | undefined;

// Locally the driver reaches Postgres through scripts/lib/bridge.mjs; in production it talks to Neon directly.
function configureProxy(proxy: string | undefined) {
  if (!proxy || proxy === configuredProxy) return;
  configuredProxy = proxy;
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
}

/**
 * One connection per request (or per Durable Object operation): the Workers runtime ties sockets to the
 * request that opened them, so a pool cannot outlive it.
 */
export async function connectDatabase(env: DatabaseEnv): Promise<Connection> {
  if (!env.DATABASE_URL) throw new DatabaseUnavailableError('DATABASE_URL is not set');
  configureProxy(env.DB_WS_PROXY);
  const client = new Client({ connectionString: env.DATABASE_URL });
  // A connection ended by the server (shutdown, restart) must not become an unhandled error.
  client.on('error', () => {});
  try {
    await withTimeout(
      client.connect(),
      CONNECT_TIMEOUT_MS,
      () => new DatabaseUnavailableError('Database connect timed out'),
    );
  } catch (err) {
    client.end().catch(() => {});
    throw err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(String(err));
  }
  const db = drizzle({ client, casing: 'snake_case' });
  return { db, close: () => client.end().catch(() => {}) };
}
