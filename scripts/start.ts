// `npm start`: the local gateway (scripts/lib/local-gateway.ts) with the bundle `wrangler deploy` builds, run
// by workerd on a direct socket on PORT (as the bench runs it): production's HTTP behaviour and speed, no
// `wrangler dev` proxy in front (which caps throughput, drops `Connection` before the worker sees it and
// rewrites a request framed by both Content-Length and Transfer-Encoding). No reload: restart after an edit.
import { buildBundle } from './lib/bundle';
import { announce, prepareLocalGateway, waitForWorker } from './lib/local-gateway';
import { startWorker, wranglerSettings } from './lib/workerd';

async function main() {
  const setup = await prepareLocalGateway('npm start');
  try {
    console.log('Building the bundle (wrangler deploy --dry-run, cached by content) …');
    const [bundle, settings] = await Promise.all([buildBundle(), wranglerSettings()]);
    let exited = false;
    await startWorker({
      name: 'gateway',
      bundle,
      withDurableObjects: true,
      port: setup.port,
      bindings: { ...settings.vars, ...setup.bindings },
      onStop: (_name, stop) =>
        setup.onStop(async () => {
          exited = true;
          await stop();
        }),
    });
    await waitForWorker(setup, () => exited);
    await announce(setup, 'npm start: the deploy bundle in workerd, no reload');
  } catch (err) {
    console.error(`npm start failed: ${err instanceof Error ? err.message : err}`);
    await setup.stopAll(1);
  }
}

void main();
