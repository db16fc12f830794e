// Starts what the tests talk to, on free ports: databases of this project's own on the run's one Postgres
// (./shared-postgres: embedded, or the DATABASE_URL server), the WebSocket bridge the Neon driver goes
// through (behind a switch that outage tests turn off), echo upstreams, a hook receiver and an address that
// refuses connections. Shared by the workerd test projects (./global.ts) and the battery's process projects
// (../battery/process/setup.ts).
import { randomBytes } from 'node:crypto';
import { startBridge } from '../../scripts/lib/bridge';
import { startEchoUpstream } from '../../scripts/lib/echo-upstream';
import { freePort } from '../../scripts/lib/ports';
import { startDatabaseSwitch } from './database-switch';
import { startHookReceiver } from './hook-receiver';
import { leaseTestPostgres } from './shared-postgres';

export type TestServices = {
  databaseUrl: string;
  configDatabaseUrl: string;
  sealingDatabaseUrl: string;
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
    // The run's one Postgres server (./shared-postgres): this project's databases are copies of its
    // migrated template, on the embedded server or the DATABASE_URL one.
    const postgres = await leaseTestPostgres();
    cleanups.push(() => postgres.release());
    const name = `gateway_test_${process.pid}_${randomBytes(3).toString('hex')}`;
    const databaseUrl = await postgres.create(name);
    // The declarative config tests apply whole files with prune, which deletes everything a file does not
    // name: they get a database of their own, so the other files' tenants are never theirs to delete.
    const configDatabaseUrl = await postgres.create(`${name}_config`);
    // The sealing-key rotation test re-seals every instance of its database: a database of its own too.
    const sealingDatabaseUrl = await postgres.create(`${name}_sealing`);

    // The switch is this project's own: an outage test takes this project's database away, no other's.
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
      sealingDatabaseUrl,
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
