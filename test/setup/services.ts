// Starts what the tests talk to, on free ports: Postgres (embedded, or a fresh database on the DATABASE_URL
// server), the WebSocket bridge the Neon driver goes through (behind a switch that outage tests turn off),
// echo upstreams, a hook receiver and an address that refuses connections. Shared by the workerd test
// projects (./global.ts) and the battery's process projects (../battery/process/setup.ts).
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBridge } from '../../scripts/lib/bridge';
import { startEchoUpstream } from '../../scripts/lib/echo-upstream';
import { freePort } from '../../scripts/lib/ports';
import { createFreshDatabase, dropDatabase, startEmbeddedPostgres } from '../../scripts/lib/postgres';
import { runMigrations } from '../../scripts/migrate';
import { startDatabaseSwitch } from './database-switch';
import { startHookReceiver } from './hook-receiver';

export type TestServices = {
  databaseUrl: string;
  configDatabaseUrl: string;
  wsProxy: string;
  testControlUrl: string;
  adminApiKey: string;
  sealingKey: string;
  upstreamUrl: string;
  upstreamUrlB: string;
  hookReceiverUrl: string;
  refusedUpstreamUrl: string;
};

export async function startTestServices(): Promise<{ values: TestServices; close: () => Promise<void> }> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'gateway-test-pg-'));
      // As root, Postgres runs as the `postgres` user, which must be able to enter this directory.
      await chmod(dataDir, 0o755);
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const server = await startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'data'),
        password: randomBytes(16).toString('hex'),
        persistent: false,
      });
      cleanups.push(() => server.stop());
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
    const databaseSwitch = await startDatabaseSwitch({
      host: target.hostname,
      port: Number(target.port || 5432),
    });
    cleanups.push(() => databaseSwitch.close());
    const bridge = await startBridge({ target: { host: '127.0.0.1', port: databaseSwitch.port } });
    cleanups.push(() => bridge.close());
    const upstream = await startEchoUpstream({ name: 'a' });
    cleanups.push(() => upstream.close());
    const upstreamB = await startEchoUpstream({ name: 'b' });
    cleanups.push(() => upstreamB.close());
    // Records lifecycle hook POSTs; each path can be told to answer 500 or cut the connection.
    const hookReceiver = await startHookReceiver();
    cleanups.push(() => hookReceiver.close());

    const values: TestServices = {
      databaseUrl,
      configDatabaseUrl,
      wsProxy: `127.0.0.1:${bridge.port}/v2`,
      testControlUrl: databaseSwitch.controlUrl,
      adminApiKey: `test_admin_${randomBytes(16).toString('hex')}`,
      sealingKey: randomBytes(32).toString('base64'),
      upstreamUrl: upstream.url,
      upstreamUrlB: upstreamB.url,
      hookReceiverUrl: hookReceiver.url,
      // A port nothing listens on: connections to it are refused, for failover tests.
      refusedUpstreamUrl: `http://127.0.0.1:${await freePort()}`,
    };
    return { values, close };
  } catch (error) {
    await close();
    throw error;
  }
}
