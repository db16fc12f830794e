// Usage survives Postgres going away (issue 16, "Done when" 4; DESIGN.md "Usage"): with Postgres stopped for
// 60 s while traffic flows, every request is still served from the isolates' snapshots, and every count
// arrives once Postgres is back, through the USAGE queue's retries. A real outage, so real time: its own
// embedded Postgres (stopped and started again on the same data directory and port), its own bridge,
// upstream and workerd. GATEWAY_TIME_SCALE shrinks the consumer's retry back-off (2 s doubling to 1 h) so
// the last retry after the outage comes within seconds, not an hour.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { stopAll } from '../../../bench/cleanup';
import { closeConnections, request } from '../../../bench/http';
import { buildBundle, startWorker } from '../../../bench/workerd';
import { startBridge } from '../../../scripts/lib/bridge';
import { startEchoUpstream } from '../../../scripts/lib/echo-upstream';
import {
  createFreshDatabase,
  type PostgresServer,
  startEmbeddedPostgres,
} from '../../../scripts/lib/postgres';
import { runMigrations } from '../../../scripts/migrate';

const OUTAGE_SECONDS = Number(process.env.GATEWAY_OUTAGE_SECONDS ?? 60);
// The consumer's back-off at this scale: 1 s retries, doubling to 18 s (2 s × 0.005 … 1 h × 0.005).
const TIME_SCALE = '0.005';
const LOOPS = 4;
const PACE_MS = 50;
const CONTROL = 'control.localhost';
const adminKey = `outage_admin_${randomBytes(12).toString('hex')}`;

type Tally = { requests: number; status_2xx: number; unauthorized: number; byKey: number };
type Tenant = { id: string; host: string; keyId: string; secret: string; tally: Tally };

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  closeConnections();
  await stopAll();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const today = () => new Date().toISOString().slice(0, 10);

async function startPostgres(dataDir: string, password: string, port?: number): Promise<PostgresServer> {
  return startEmbeddedPostgres({ dataDir, password, port, persistent: true });
}

test(`usage: Postgres stopped for ${OUTAGE_SECONDS} s during traffic, every count arrives after it returns`, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-outage-pg-'));
  await chmod(dir, 0o755);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');
  const password = randomBytes(16).toString('hex');
  let postgres = await startPostgres(dataDir, password);
  cleanups.push(() => postgres.stop());
  const databaseUrl = await createFreshDatabase(postgres.url, 'gateway');
  await runMigrations(databaseUrl);
  const bridge = await startBridge({ target: { host: '127.0.0.1', port: postgres.port } });
  cleanups.push(() => bridge.close());
  const upstream = await startEchoUpstream({ name: 'outage' });
  cleanups.push(() => upstream.close());
  const worker = await startWorker({
    name: 'gateway',
    bundle: await buildBundle(),
    withDurableObjects: true,
    runtimeLog: path.join(dir, 'workerd.log'),
    bindings: {
      DATABASE_URL: databaseUrl,
      DB_WS_PROXY: `127.0.0.1:${bridge.port}/v2`,
      ADMIN_API_KEY: adminKey,
      SEALING_KEY: randomBytes(32).toString('base64'),
      BASE_DOMAINS: 'localhost',
      CONTROL_HOST: CONTROL,
      UNKNOWN_HOST: 'reject',
      ALLOW_PRIVATE_UPSTREAMS: 'true',
      GATEWAY_TIME_SCALE: TIME_SCALE,
    },
  });

  const control = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${adminKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await request(worker.url, {
      host: CONTROL,
      method,
      path: url,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status >= 300) throw new Error(`${method} ${url}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as T;
  };

  // Two tenants: one without a limit, one with a limit too high to reach (its requests take the gate's path).
  await control('POST', '/v1/instances', { name: 'outage1', upstreams: [upstream.url] });
  const tenants: Tenant[] = [];
  for (const [slug, rateLimit] of [
    ['plain', null],
    ['limited', { requests_per_minute: 1_000_000, requests_per_day: null }],
  ] as const) {
    const created = await control<{ tenant: { id: string } }>('POST', '/v1/tenants', {
      name: slug,
      instance: 'outage1',
      ...(rateLimit && { rate_limit: rateLimit }),
    });
    const t = created.tenant;
    await control('PATCH', `/v1/tenants/${t.id}`, { status: 'active' });
    const made = await control<{ key: { id: string }; secret: string }>('POST', `/v1/tenants/${t.id}/keys`, {
      name: 'traffic',
      scopes: ['proxy:read'],
    });
    const key = { id: made.key.id, secret: made.secret };
    tenants.push({
      id: t.id,
      host: `${slug}.localhost`,
      keyId: key.id,
      secret: key.secret,
      tally: { requests: 0, status_2xx: 0, unauthorized: 0, byKey: 0 },
    });
  }
  const from = today();

  // Traffic in a known mix: the tenant's key (200), a wrong key and no key (401), each tallied by what the
  // gateway answered. Anything else (a 5xx, a failed connection) is a failure of the outage case.
  const unexpected: string[] = [];
  let stop = false;
  const loop = async (n: number) => {
    for (let i = n; !stop; i++) {
      const pace = sleep(PACE_MS);
      const t = tenants[i % tenants.length];
      const kind = i % 5 === 3 ? 'wrong' : i % 5 === 4 ? 'none' : 'key';
      const headers: Record<string, string> =
        kind === 'none'
          ? {}
          : {
              authorization: `Bearer ${kind === 'key' ? t.secret : `gw_${randomBytes(24).toString('hex')}`}`,
            };
      const answer = await request(worker.url, {
        host: t.host,
        path: `/outage/${i}?k=${kind}`,
        headers,
      }).catch((err: Error) => ({ status: 0, body: err.message }));
      const expected = kind === 'key' ? 200 : 401;
      if (answer.status !== expected)
        unexpected.push(`${kind}: ${answer.status} ${answer.body.slice(0, 160)}`);
      else {
        t.tally.requests++;
        if (expected === 200) {
          t.tally.status_2xx++;
          t.tally.byKey++;
        } else t.tally.unauthorized++;
      }
      await pace;
    }
  };
  const traffic = Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));

  await sleep(3_000);
  const port = postgres.port;
  await postgres.stop();
  const servedBefore = tenants.reduce((sum, t) => sum + t.tally.requests, 0);
  await sleep(OUTAGE_SECONDS * 1_000);
  const servedDuring = tenants.reduce((sum, t) => sum + t.tally.requests, 0) - servedBefore;
  postgres = await startPostgres(dataDir, password, port);
  const returnedAt = Date.now();
  await sleep(2_000);
  stop = true;
  await traffic;
  expect(unexpected.slice(0, 5)).toEqual([]);
  // The outage did not stop traffic: the isolate kept serving from its snapshots.
  expect(servedDuring).toBeGreaterThan(OUTAGE_SECONDS * 10);

  // Every count arrives, exactly: the queue retried what Postgres refused, and wrote each batch once.
  const to = today();
  const read = async (t: Tenant) => {
    const usage = await control<{ totals: Record<string, number> }>(
      'GET',
      `/v1/tenants/${t.id}/usage?from=${from}&to=${to}`,
    );
    const byKey = await control<{ totals: Record<string, number> }>(
      'GET',
      `/v1/tenants/${t.id}/keys/${t.keyId}/usage?from=${from}&to=${to}`,
    );
    const { requests, status_2xx, unauthorized } = usage.totals;
    return { requests, status_2xx, unauthorized, byKey: byKey.totals.requests };
  };
  const deadline = Date.now() + 90_000;
  let seen = await Promise.all(tenants.map(read));
  while (Date.now() < deadline && seen.some((s, i) => s.requests < tenants[i].tally.requests)) {
    await sleep(1_000);
    seen = await Promise.all(tenants.map(read));
  }
  console.log(
    `usage outage: ${servedDuring} requests served during ${OUTAGE_SECONDS} s without Postgres; ` +
      `every count in Postgres ${((Date.now() - returnedAt) / 1000).toFixed(1)} s after it returned`,
  );
  // A moment more: a count past the tally (a batch written twice) would show now.
  await sleep(3_000);
  seen = await Promise.all(tenants.map(read));
  expect(seen).toEqual(tenants.map((t) => t.tally));
}, 240_000);
