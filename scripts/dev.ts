// `npm run dev`: the local gateway (scripts/lib/local-gateway.ts) with the worker under `wrangler dev`, which
// rebuilds and reloads on every edit. `npm start` (scripts/start.ts) runs the deploy bundle instead.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { announce, dataDir, prepareLocalGateway, root, waitForWorker } from './lib/local-gateway';

async function main() {
  const setup = await prepareLocalGateway('npm run dev');
  try {
    const envFile = path.join(dataDir, 'dev.env');
    await writeFile(
      envFile,
      `${Object.entries(setup.bindings)
        .map(([name, value]) => `${name}=${value}`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    const wrangler = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules/wrangler/bin/wrangler.js'),
        'dev',
        '--port',
        String(setup.port),
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
    setup.onStop(async () => {
      try {
        process.kill(-(wrangler.pid as number), 'SIGTERM');
      } catch {}
      await new Promise((r) => setTimeout(r, 500));
      try {
        process.kill(-(wrangler.pid as number), 'SIGKILL');
      } catch {}
    });
    wrangler.on('exit', (code) => {
      if (!setup.isStopping()) {
        console.error(`wrangler dev exited (${code})`);
        void setup.stopAll(1);
      }
    });
    await waitForWorker(setup, () => wrangler.exitCode !== null);
    await announce(setup, 'npm run dev: wrangler dev, reloads on every edit');
  } catch (err) {
    console.error(`npm run dev failed: ${err instanceof Error ? err.message : err}`);
    await setup.stopAll(1);
  }
}

void main();
