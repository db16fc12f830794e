// Starts what worker tests talk to, on free ports: Postgres (embedded, or a fresh database on the
// DATABASE_URL server), the WebSocket bridge the Neon driver goes through, echo upstreams, and an address
// that refuses connections.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startBridge } from '../../scripts/lib/bridge';
import { startEchoUpstream } from '../../scripts/lib/echo-upstream';
import { freePort } from '../../scripts/lib/ports';
import { createFreshDatabase, dropDatabase, startEmbeddedPostgres } from '../../scripts/lib/postgres';
import { runMigrations } from '../../scripts/migrate';
import { startDatabaseSwitch } from './database-switch';
import { startHookReceiver } from './hook-receiver';

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
  // The declarative config tests apply whole files with prune, which deletes everything a file does not
  // name: they get a database of their own, so the other files' tenants are never theirs to delete.
  const configName = `${name}_config`;
  const configDatabaseUrl = await createFreshDatabase(serverUrl, configName);
  if (process.env.DATABASE_URL) cleanups.push(() => dropDatabase(serverUrl, configName));
  await runMigrations(configDatabaseUrl);

  const target = new URL(databaseUrl);
  // The bridge reaches Postgres through a switch that outage tests turn off and on (./database-switch).
  const databaseSwitch = await startDatabaseSwitch({
    host: target.hostname,
    port: Number(target.port || 5432),
  });
  cleanups.push(() => databaseSwitch.close());
  const bridge = await startBridge({ target: { host: '127.0.0.1', port: databaseSwitch.port } });
  cleanups.push(() => bridge.close());
  const upstream = await startEchoUpstream({ name: 'a' });
  const upstreamB = await startEchoUpstream({ name: 'b' });
  cleanups.push(
    () => upstream.close(),
    () => upstreamB.close(),
  );

  project.provide('databaseUrl', databaseUrl);
  project.provide('configDatabaseUrl', configDatabaseUrl);
  project.provide('wsProxy', `127.0.0.1:${bridge.port}/v2`);
  project.provide('testControlUrl', databaseSwitch.controlUrl);
  project.provide('adminApiKey', `test_admin_${randomBytes(16).toString('hex')}`);
  project.provide('sealingKey', randomBytes(32).toString('base64'));
  project.provide('upstreamUrl', upstream.url);
  project.provide('upstreamUrlB', upstreamB.url);
  // Records lifecycle hook POSTs; each path can be told to answer 500 or cut the connection.
  const hookReceiver = await startHookReceiver();
  cleanups.push(() => hookReceiver.close());
  project.provide('hookReceiverUrl', hookReceiver.url);
  // A port nothing listens on: connections to it are refused, for failover tests.
  project.provide('refusedUpstreamUrl', `http://127.0.0.1:${await freePort()}`);

  return async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
}
