// The benchmark's Postgres: a throwaway embedded server in the run's temporary directory (or a fresh
// database on the DATABASE_URL server), migrated, behind the WebSocket bridge the worker's Neon driver uses.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startBridge } from '../scripts/lib/bridge';
import { createFreshDatabase, dropDatabase, startEmbeddedPostgres } from '../scripts/lib/postgres';
import { runMigrations } from '../scripts/migrate';
import { onCleanup } from './cleanup';

export type BenchDatabase = {
  url: string;
  name: string;
  /** host:port/path for DB_WS_PROXY. */
  wsProxy: string;
  /** The harness's own connection to the bench database: seeding. */
  client: pg.Client;
  /** A client on the server's `postgres` database: reading statistics there adds no transaction to ours. */
  stats: pg.Client;
};

export async function startDatabase(tmpDir: string): Promise<BenchDatabase> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = path.join(tmpDir, 'postgres');
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(tmpDir, { recursive: true });
    // As root, Postgres runs as the `postgres` user, which must be able to enter this directory.
    await chmod(tmpDir, 0o755);
    const server = await startEmbeddedPostgres({
      dataDir,
      password: randomBytes(16).toString('hex'),
      persistent: false,
    });
    onCleanup('postgres', async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    serverUrl = server.url;
  }
  const name = `gateway_bench_${process.pid}`;
  const url = await createFreshDatabase(serverUrl, name);
  if (process.env.DATABASE_URL) onCleanup('bench database', () => dropDatabase(serverUrl, name));
  await runMigrations(url);
  const target = new URL(url);
  const bridge = await startBridge({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  onCleanup('bridge', () => bridge.close());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onCleanup('seed client', () => client.end());
  const statsUrl = new URL(url);
  statsUrl.pathname = '/postgres';
  const stats = new pg.Client({ connectionString: statsUrl.toString() });
  await stats.connect();
  onCleanup('stats client', () => stats.end());
  return { url, name, wsProxy: `127.0.0.1:${bridge.port}/v2`, client, stats };
}

/**
 * Transactions committed or rolled back in the bench database so far. The worker's Neon driver runs every
 * statement in its own implicit transaction, so the difference between two readings is its query count.
 * Backends report at exit or at most once a second, hence the wait.
 */
export async function transactionCount(db: BenchDatabase): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_100));
  await db.stats.query('select pg_stat_clear_snapshot()');
  const { rows } = await db.stats.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [db.name],
  );
  return Number(rows[0].n);
}
