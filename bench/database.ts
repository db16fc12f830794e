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
  /** The server's URL (database `postgres`): where sibling databases are made. */
  serverUrl: string;
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
  const url = await freshMigrated(serverUrl, name);
  const target = new URL(url);
  // One bridge for every database of the server: the database is named in the connection string.
  const bridge = await startBridge({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  onCleanup('bridge', () => bridge.close());
  const client = await connect(url, 'seed client');
  const statsUrl = new URL(url);
  statsUrl.pathname = '/postgres';
  const stats = await connect(statsUrl.toString(), 'stats client');
  return { url, name, wsProxy: `127.0.0.1:${bridge.port}/v2`, client, stats, serverUrl };
}

async function freshMigrated(serverUrl: string, name: string): Promise<string> {
  const url = await createFreshDatabase(serverUrl, name);
  if (process.env.DATABASE_URL) onCleanup(`bench database ${name}`, () => dropDatabase(serverUrl, name));
  await runMigrations(url);
  return url;
}

async function connect(url: string, name: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onCleanup(name, () => client.end());
  return client;
}

/** Another fresh, migrated database on the same server, behind the same bridge (`suffix` names it). */
export async function siblingDatabase(main: BenchDatabase, suffix: string): Promise<BenchDatabase> {
  const name = `${main.name}_${suffix}`;
  const url = await freshMigrated(main.serverUrl, name);
  return { ...main, url, name, client: await connect(url, `seed client ${suffix}`) };
}

/**
 * Transactions committed or rolled back in the bench database so far. The worker's Neon driver runs every
 * statement in its own implicit transaction, so the difference between two readings is its query count.
 * Backends report at exit or at most once a second, hence the wait.
 */
export async function transactionCount(db: BenchDatabase, waitMs = 1_100): Promise<number> {
  await new Promise((r) => setTimeout(r, waitMs));
  await db.stats.query('select pg_stat_clear_snapshot()');
  const { rows } = await db.stats.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [db.name],
  );
  return Number(rows[0].n);
}

/** {@link transactionCount} of several databases of the server in one reading (one wait). */
export async function transactionCounts(dbs: BenchDatabase[], waitMs = 1_100): Promise<Map<string, number>> {
  await new Promise((r) => setTimeout(r, waitMs));
  const stats = dbs[0].stats;
  await stats.query('select pg_stat_clear_snapshot()');
  const { rows } = await stats.query<{ datname: string; n: string }>(
    'select datname, xact_commit + xact_rollback as n from pg_stat_database where datname = any($1)',
    [dbs.map((d) => d.name)],
  );
  return new Map(rows.map((r) => [r.datname, Number(r.n)]));
}
