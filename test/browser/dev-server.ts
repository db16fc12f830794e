// `npm run dev` as the browser test uses it: on a free port, against a Postgres of the test's own (a fresh
// database on DATABASE_URL's server, or an embedded one in a temporary directory), stopped as a group.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/ports';
import { createFreshDatabase, dropDatabase, startEmbeddedPostgres } from '../../scripts/lib/postgres';

export type DevServer = {
  port: number;
  adminApiKey: string;
  databaseUrl: string;
  stop: () => Promise<void>;
};

const root = path.resolve(import.meta.dirname, '../..');
const START_TIMEOUT_MS = 150_000;

function waitForOutput(child: ChildProcess, marker: string, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm run dev did not start:\n${output.join('')}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run dev exited (${code}):\n${output.join('')}`));
    });
  });
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const kill = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }, 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      // SIGINT is Ctrl-C: dev stops wrangler's process group, the bridge and the demo upstream itself.
      process.kill(-pid, 'SIGINT');
    } catch {
      clearTimeout(kill);
      resolve();
    }
  });
}

export async function startDevServer(): Promise<DevServer> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const dir = await mkdtemp(path.join(tmpdir(), 'gateway-browser-pg-'));
      await chmod(dir, 0o755);
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const server = await startEmbeddedPostgres({
        dataDir: path.join(dir, 'data'),
        password: randomBytes(16).toString('hex'),
        persistent: false,
      });
      cleanups.push(() => server.stop());
      serverUrl = server.url;
    }
    const name = `gateway_browser_${process.pid}_${randomBytes(3).toString('hex')}`;
    const databaseUrl = await createFreshDatabase(serverUrl, name);
    if (process.env.DATABASE_URL) cleanups.push(() => dropDatabase(serverUrl, name));

    const port = await freePort();
    const adminApiKey = `browser_admin_${randomBytes(16).toString('hex')}`;
    const child = spawn(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/dev.ts'],
      {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PORT: String(port), ADMIN_API_KEY: adminApiKey, DATABASE_URL: databaseUrl },
      },
    );
    cleanups.push(() => stopGroup(child));
    await waitForOutput(child, 'Tenant gateway is running.', []);
    return { port, adminApiKey, databaseUrl, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * A request to the dev worker with a given Host, as curl sends it (`*.localhost` need not resolve in Node).
 */
export function hostRequest(
  port: number,
  host: string,
  method: string,
  requestPath: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: requestPath,
        headers: { host, ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}
