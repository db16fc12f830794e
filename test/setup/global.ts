// Starts what worker tests talk to, on free ports: Postgres (embedded, or a fresh database on the
// DATABASE_URL server), the WebSocket bridge the Neon driver goes through, and echo upstreams.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startBridge } from '../../scripts/lib/bridge';
import { startEchoUpstream } from '../../scripts/lib/echo-upstream';
import { createFreshDatabase, dropDatabase, startEmbeddedPostgres } from '../../scripts/lib/postgres';
import { runMigrations } from '../../scripts/migrate';

export default async function setup(project: TestProject) {
  const cleanups: (() => Promise<unknown>)[] = [];
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gateway-test-pg-'));
    // As root, Postgres runs as the `postgres` user, which must be able to enter this directory.
    await chmod(dataDir, 0o755);
    const server = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'data'),
      password: randomBytes(16).toString('hex'),
      persistent: false,
    });
    cleanups.push(
      () => rm(dataDir, { recursive: true, force: true }),
      () => server.stop(),
    );
    serverUrl = server.url;
  }
  const name = `gateway_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = await createFreshDatabase(serverUrl, name);
  if (process.env.DATABASE_URL) cleanups.push(() => dropDatabase(serverUrl, name));
  await runMigrations(databaseUrl);

  const target = new URL(databaseUrl);
  const bridge = await startBridge({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  cleanups.push(() => bridge.close());
  const upstream = await startEchoUpstream({ name: 'a' });
  const upstreamB = await startEchoUpstream({ name: 'b' });
  cleanups.push(
    () => upstream.close(),
    () => upstreamB.close(),
  );

  project.provide('databaseUrl', databaseUrl);
  project.provide('wsProxy', `127.0.0.1:${bridge.port}/v2`);
  project.provide('adminApiKey', `test_admin_${randomBytes(16).toString('hex')}`);
  project.provide('sealingKey', randomBytes(32).toString('base64'));
  project.provide('upstreamUrl', upstream.url);
  project.provide('upstreamUrlB', upstreamB.url);

  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
}
