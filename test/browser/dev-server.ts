// `npm run dev` (or `npm start`) as the browser and process tests use it: on a free port, against a database of
// the test's own on the run's Postgres (by default the browser project's, ../setup/browser-database.ts),
// stopped as a group.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../scripts/lib/ports';

export type DevServer = {
  port: number;
  adminApiKey: string;
  databaseUrl: string;
  /** The demo tenant's key, as the banner prints it. */
  demoKey: string;
  /** What the command printed so far. */
  output: string[];
  stop: () => Promise<void>;
};

const root = path.resolve(import.meta.dirname, '../..');
const START_TIMEOUT_MS = 150_000;

function waitForOutput(child: ChildProcess, marker: string, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the local gateway did not start:\n${output.join('')}`)),
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
      reject(new Error(`the local gateway exited (${code}):\n${output.join('')}`));
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

/** `npm run dev` (`script` dev.ts) or `npm start` (start.ts), with PORT, ADMIN_API_KEY and DATABASE_URL set. */
export async function startDevServer(
  opts: {
    script?: 'dev.ts' | 'start.ts';
    databaseUrl?: string;
    /** Use the admin key kept in .data/secrets.json, as a user who sets none does. */
    savedAdminKey?: boolean;
    /** More of the environment, as a user sets it (CONTROL_HOST, SEALING_KEY, …). */
    env?: Record<string, string>;
  } = {},
): Promise<DevServer> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  try {
    const databaseUrl = opts.databaseUrl ?? inject('browserDatabaseUrl');
    const port = await freePort();
    const given = opts.savedAdminKey ? undefined : `browser_admin_${randomBytes(16).toString('hex')}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
    };
    if (given) env.ADMIN_API_KEY = given;
    else delete env.ADMIN_API_KEY;
    const child = spawn(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), `scripts/${opts.script ?? 'dev.ts'}`],
      {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      },
    );
    cleanups.push(() => stopGroup(child));
    const output: string[] = [];
    await waitForOutput(child, 'Ctrl-C stops everything.', output);
    const adminApiKey = /admin key\s+(\S+)/.exec(output.join(''))?.[1] ?? '';
    const demoKey = /Host: demo\.instance1\.localhost' -H 'Authorization: Bearer (\S+)'/.exec(
      output.join(''),
    )?.[1];
    if (!demoKey) throw new Error(`no demo key in the banner:\n${output.join('')}`);
    return { port, adminApiKey, databaseUrl, demoKey, output, stop: cleanup };
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
