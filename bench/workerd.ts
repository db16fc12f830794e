// Builds a worker the way `wrangler deploy` does and runs the bundle in workerd through Miniflare's Node API.
// Requests go to a direct socket of the user worker: no Node proxy and no Miniflare entry worker in between,
// unlike `wrangler dev`, whose local proxy caps throughput.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { freePort } from '../scripts/lib/ports';
import { onCleanup } from './cleanup';

const root = path.resolve(import.meta.dirname, '..');

export type Bundle = { scriptPath: string; bytes: number; gzipBytes: number };

/** `wrangler deploy --dry-run --outdir` of `entry` (default: wrangler.toml's main) with `config`. */
export async function buildBundle(opts: {
  outdir: string;
  config?: string;
  entry?: string;
}): Promise<Bundle> {
  const args = [path.join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy'];
  if (opts.entry) args.push(opts.entry);
  args.push('--dry-run', '--outdir', opts.outdir, '--config', opts.config ?? 'wrangler.toml');
  await promisify(execFile)(process.execPath, args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const file = (await readdir(opts.outdir)).find((name) => name.endsWith('.js'));
  if (!file) throw new Error(`wrangler wrote no .js bundle to ${opts.outdir}`);
  const code = await readFile(path.join(opts.outdir, file));
  return {
    scriptPath: path.join(opts.outdir, file),
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
  };
}

/** What Miniflare needs from wrangler.toml: the compatibility date and the Durable Object bindings. */
async function wranglerSettings() {
  const toml = await readFile(path.join(root, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  const durableObjects: Record<string, { className: string; useSQLite: true }> = {};
  const binding = /\[\[durable_objects\.bindings\]\]\s*name\s*=\s*"(\w+)"\s*class_name\s*=\s*"(\w+)"/g;
  for (const [, name, className] of toml.matchAll(binding))
    durableObjects[name] = { className, useSQLite: true };
  return { date, durableObjects };
}

export type RunningWorker = { name: string; url: string; port: number };

export async function startWorker(opts: {
  name: string;
  bundle: Bundle;
  bindings: Record<string, string>;
  /** Binds the gateway's Durable Objects, as wrangler.toml declares them. */
  withDurableObjects?: boolean;
  /** Opens workerd's DevTools inspector on this port (for the CPU profile). */
  inspectorPort?: number;
}): Promise<RunningWorker> {
  const port = await freePort();
  const settings = await wranglerSettings();
  const mf = new Miniflare({
    name: opts.name,
    modules: true,
    scriptPath: opts.bundle.scriptPath,
    modulesRoot: path.dirname(opts.bundle.scriptPath),
    compatibilityDate: settings.date,
    compatibilityFlags: ['nodejs_compat'],
    bindings: opts.bindings,
    durableObjects: opts.withDurableObjects ? settings.durableObjects : undefined,
    unsafeDirectSockets: [{ host: '127.0.0.1', port }],
    inspectorPort: opts.inspectorPort,
  });
  onCleanup(`workerd ${opts.name}`, () => mf.dispose());
  await mf.ready;
  const url = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, '');
  return { name: opts.name, url, port };
}
