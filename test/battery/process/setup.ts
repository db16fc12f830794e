// globalSetup of the battery's process projects: the services of the workerd tests (Postgres, bridge,
// upstreams) and the gateway itself, built as `wrangler deploy` builds it and run in a workerd process on a
// direct socket, so tests can speak raw HTTP to it (duplicate headers, conflicting framing, WebSockets) and
// read the process's memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { stopAll } from '../../../bench/cleanup';
import { buildBundle, startWorker } from '../../../bench/workerd';
import { startTestServices } from '../../setup/services';

/** Whether a test file of `project` failed. */
function projectFailed(project: TestProject): boolean {
  return project.vitest.state
    .getFiles()
    .some((file) => file.projectName === project.name && file.result?.state === 'fail');
}

export default async function setup(project: TestProject) {
  const services = await startTestServices();
  // Holds workerd's own output: the error traces that tests provoke on purpose go there, not into the run's.
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-battery-'));
  const workerdLog = path.join(dir, 'workerd.log');
  const close = async () => {
    await stopAll();
    await services.close();
    // Kept when something failed: what workerd said may explain it.
    if (projectFailed(project)) console.error(`[${project.name}] workerd's output is kept in ${workerdLog}`);
    else await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const [name, value] of Object.entries(services.values))
      project.provide(name as keyof typeof services.values, value);
    // Cached by content (bench/workerd.ts): a second run, the soak and the bench build nothing new.
    const bundle = await buildBundle();
    const worker = await startWorker({
      name: 'gateway',
      bundle,
      withDurableObjects: true,
      runtimeLog: workerdLog,
      bindings: {
        DATABASE_URL: services.values.databaseUrl,
        DB_WS_PROXY: services.values.wsProxy,
        ADMIN_API_KEY: services.values.adminApiKey,
        SEALING_KEY: services.values.sealingKey,
        BASE_DOMAINS: 'localhost',
        CONTROL_HOST: 'control.localhost',
        UNKNOWN_HOST: 'reject',
        ALLOW_PRIVATE_UPSTREAMS: 'true',
      },
    });
    project.provide('gatewayUrl', worker.url);
    project.provide('workerdPid', worker.pid);
    project.provide('workerdLog', workerdLog);
    return close;
  } catch (error) {
    await close();
    throw error;
  }
}
