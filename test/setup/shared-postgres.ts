// One Postgres server for a whole `vitest run`, whichever projects it runs. Every project's globalSetup runs in
// vitest's main process, one after the other, and all teardowns at the end, but each project may load its own
// copy of this module: the server is kept on `globalThis` and counted. The first user starts it (embedded, in
// a temporary directory, or the DATABASE_URL server) and migrates one template database; every user then gets
// databases of its own, each a copy of the template (CREATE DATABASE … TEMPLATE: milliseconds, no
// migrations); the last one to leave stops the server, or on the DATABASE_URL server drops the template.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  cloneDatabase,
  createFreshDatabase,
  dropDatabase,
  startEmbeddedPostgres,
} from '../../scripts/lib/postgres';
import { runMigrations } from '../../scripts/migrate';

type Server = { url: string; template: string; stop: () => Promise<void> };
type Shared = { users: number; server: Promise<Server> | null };

const KEY = Symbol.for('tenant-gateway/test-postgres');
const holder = globalThis as typeof globalThis & { [KEY]?: Shared };

async function startServer(): Promise<Server> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const external = process.env.DATABASE_URL;
    let url = external;
    if (!url) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'gateway-test-pg-'));
      // As root, Postgres runs as the `postgres` user, which must be able to enter this directory.
      await chmod(dataDir, 0o755);
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const server = await startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'data'),
        password: randomBytes(16).toString('hex'),
        persistent: false,
        // Every project's worker and bridge connect to this one server now, not one server each.
        settings: { max_connections: '400' },
      });
      cleanups.push(() => server.stop());
      url = server.url;
    }
    const serverUrl = url;
    const template = `gateway_template_${process.pid}`;
    const templateUrl = await createFreshDatabase(serverUrl, template);
    if (external) cleanups.push(() => dropDatabase(serverUrl, template));
    // runMigrations closes its connection before it returns: a template nobody is connected to.
    await runMigrations(templateUrl);
    // And nobody can connect to it from now on, which would make every later copy fail.
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(`ALTER DATABASE "${template}" WITH ALLOW_CONNECTIONS false`);
    } finally {
      await client.end();
    }
    return { url: serverUrl, template, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type DatabaseLease = {
  /** A new database `name`, migrated (a copy of the template); its URL. */
  create: (name: string) => Promise<string>;
  /** Drops this lease's databases on a DATABASE_URL server; the last lease stops the server. */
  release: () => Promise<void>;
};

/** A share of the run's Postgres server, started if this is the first. */
export async function leaseTestPostgres(): Promise<DatabaseLease> {
  holder[KEY] ??= { users: 0, server: null };
  const shared = holder[KEY];
  shared.users++;
  shared.server ??= startServer();
  const server = shared.server;
  const leave = async () => {
    shared.users--;
    if (shared.users > 0 || shared.server !== server) return;
    shared.server = null;
    await (await server).stop();
  };
  let ready: Server;
  try {
    ready = await server;
  } catch (error) {
    shared.users--;
    if (shared.server === server) shared.server = null;
    throw error;
  }
  const created: string[] = [];
  let released = false;
  return {
    create: async (name) => {
      // A commit does not wait for its WAL to reach the disk (a crash could lose the last few; these
      // databases do not outlive the run): on the system server, with fsync on, the wait was most of a write.
      const url = await cloneDatabase(ready.url, name, ready.template, { synchronous_commit: 'off' });
      created.push(name);
      return url;
    },
    release: async () => {
      if (released) return;
      released = true;
      if (process.env.DATABASE_URL)
        for (const name of created) await dropDatabase(ready.url, name).catch(() => {});
      await leave();
    },
  };
}
