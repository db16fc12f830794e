// `npm run dev`: Postgres (embedded under .data/, or DATABASE_URL), migrations, a demo upstream, a seeded
// instance `instance1` and active tenant `demo` with a key, the worker on PORT, and curl commands that work.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { newId } from '../src/core/crypto/ids';
import { seal } from '../src/core/crypto/seal';
import { generateSecret, keyPrefix, sha256Hex } from '../src/core/crypto/secrets';
import { startBridge } from './lib/bridge';
import { startEchoUpstream } from './lib/echo-upstream';
import { ensureDatabase, startEmbeddedPostgres } from './lib/postgres';
import { runMigrations } from './migrate';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = path.join(root, '.data');
const port = Number(process.env.PORT ?? 8787);

type DevSecrets = { adminApiKey: string; sealingKey: string; pgPassword: string; demoKey: string };

async function loadSecrets(): Promise<DevSecrets> {
  const file = path.join(dataDir, 'secrets.json');
  const saved: Partial<DevSecrets> = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {};
  const secrets: DevSecrets = {
    adminApiKey: saved.adminApiKey ?? generateSecret('adm_', 32),
    sealingKey: saved.sealingKey ?? randomBytes(32).toString('base64'),
    pgPassword: saved.pgPassword ?? randomBytes(16).toString('hex'),
    demoKey: saved.demoKey ?? generateSecret('gw_', 40),
  };
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

async function seed(databaseUrl: string, upstreamUrl: string, secrets: DevSecrets) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    const instance = await client.query<{ id: string }>(
      `insert into instances (id, name, upstreams, signing_secret_sealed) values ($1, 'instance1', $2, $3)
       on conflict (name) do update set upstreams = excluded.upstreams, updated_at = now() returning id`,
      [
        newId('ins'),
        JSON.stringify([upstreamUrl]),
        await seal(generateSecret('whsec_', 40), secrets.sealingKey),
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

// `*.localhost` names need not resolve in Node, so ask 127.0.0.1 with the Host header, as curl does.
function healthStatus(host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/health', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2_000, () => req.destroy());
  });
}

async function waitForWorker(host: string, child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('wrangler dev exited');
    if ((await healthStatus(host)) === 200) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('the worker did not start within 60 s');
}

async function main() {
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o755);
  const secrets = await loadSecrets();
  const adminApiKey = process.env.ADMIN_API_KEY ?? secrets.adminApiKey;
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
    await seed(databaseUrl, upstream.url, secrets);
    const target = new URL(databaseUrl);
    const bridge = await startBridge({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    });
    stops.push(() => bridge.close());

    const envFile = path.join(dataDir, 'dev.env');
    await writeFile(
      envFile,
      [
        `ADMIN_API_KEY=${adminApiKey}`,
        `DATABASE_URL=${databaseUrl}`,
        `SEALING_KEY=${secrets.sealingKey}`,
        `DB_WS_PROXY=127.0.0.1:${bridge.port}/v2`,
        'ALLOW_PRIVATE_UPSTREAMS=true',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const wrangler = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules/wrangler/bin/wrangler.js'),
        'dev',
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--env-file',
        envFile,
        '--persist-to',
        path.join(dataDir, 'wrangler'),
        '--show-interactive-dev-session=false',
        '--log-level',
        'warn',
      ],
      // Its own process group: workerd can outlive a SIGTERM to wrangler, so the whole group is stopped.
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
        // No internet here or on many CI machines: do not fetch Cloudflare's sample `request.cf`.
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      },
    );
    stops.push(async () => {
      try {
        process.kill(-(wrangler.pid as number), 'SIGTERM');
      } catch {}
      await new Promise((r) => setTimeout(r, 500));
      try {
        process.kill(-(wrangler.pid as number), 'SIGKILL');
      } catch {}
    });
    wrangler.on('exit', (code) => {
      if (!stopping) {
        console.error(`wrangler dev exited (${code})`);
        void stopAll(1);
      }
    });
    const base = `http://localhost:${port}`;
    await waitForWorker('control.localhost', wrangler);

    console.log(`
Tenant gateway is running.

  control API   http://control.localhost:${port}   (Host: control.localhost)
  admin key     ${adminApiKey}
  demo tenant   http://demo.instance1.localhost:${port}   → demo upstream ${upstream.url}

Try:
  curl -H 'Host: control.localhost' ${base}/v1/health
  curl -H 'Host: control.localhost' -H 'Authorization: Bearer ${adminApiKey}' ${base}/v1/tenants
  curl -H 'Host: demo.instance1.localhost' -H 'Authorization: Bearer ${secrets.demoKey}' ${base}/hello

Ctrl-C stops everything.
`);
  } catch (err) {
    console.error(`npm run dev failed: ${err instanceof Error ? err.message : err}`);
    await stopAll(1);
  }
}

void main();
