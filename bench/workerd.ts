// Builds a worker the way `wrangler deploy` does and runs the bundle in workerd through Miniflare's Node API.
// Requests go to a direct socket of the user worker: no Node proxy and no Miniflare entry worker in between,
// unlike `wrangler dev`, whose local proxy caps throughput.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { freePort } from '../scripts/lib/ports';
import { onCleanup } from './cleanup';

const root = path.resolve(import.meta.dirname, '..');

export type Bundle = { scriptPath: string; bytes: number; gzipBytes: number; cached: boolean };

/** Built bundles, one directory per hash of what went into them; `npm ci` starts it afresh. */
const CACHE_DIR = path.join(root, 'node_modules/.cache/gateway-bundle');
/** Cache entries kept when pruning: the most recently used ones. */
const CACHE_KEEP = 8;
/** Bumped when what a cache entry holds changes. */
const CACHE_FORMAT = 1;
/** Inputs of every build: dependencies (wrangler, esbuild and every package bundled) and compiler options. */
const ALWAYS_HASHED = ['package-lock.json', 'tsconfig.json'];

/** `relative` if it is a file, every file under it if it is a directory (paths relative to the root). */
async function filesUnder(relative: string): Promise<string[]> {
  const info = await stat(path.join(root, relative)).catch(() => null);
  if (!info) return [];
  if (!info.isDirectory()) return [relative];
  const files: string[] = [];
  for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(child)));
    else if (entry.isFile()) files.push(child);
  }
  return files;
}

/** The cache key of a build: its arguments and the content of every file hashed, with the files' set. */
async function bundleKey(args: string[], hashed: string[]): Promise<{ key: string; files: Set<string> }> {
  const files = new Set<string>();
  for (const item of hashed)
    for (const file of await filesUnder(item)) files.add(file.split(path.sep).join('/'));
  const hash = createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, args }));
  for (const file of [...files].sort()) {
    const content = await readFile(path.join(root, file));
    hash.update(`\0${file}\0${content.length}\0`).update(content);
  }
  return { key: hash.digest('hex').slice(0, 32), files };
}

type CacheEntry = { script: string; bytes: number; gzipBytes: number };

async function readEntry(dir: string): Promise<Bundle | null> {
  const text = await readFile(path.join(dir, 'bundle.json'), 'utf8').catch(() => null);
  if (!text) return null;
  const entry = JSON.parse(text) as CacheEntry;
  // Marks it used, so pruning keeps it.
  const now = new Date();
  await utimes(dir, now, now).catch(() => {});
  return {
    scriptPath: path.join(dir, entry.script),
    bytes: entry.bytes,
    gzipBytes: entry.gzipBytes,
    cached: true,
  };
}

/** Removes all but the most recently used entries, and builds abandoned an hour ago or more. */
async function pruneCache() {
  const entries = await readdir(CACHE_DIR).catch(() => [] as string[]);
  const dated = await Promise.all(
    entries.map(async (name) => ({
      name,
      mtime: (await stat(path.join(CACHE_DIR, name)).catch(() => null))?.mtimeMs ?? 0,
    })),
  );
  const built = dated.filter((e) => !e.name.includes('.tmp-')).sort((a, b) => b.mtime - a.mtime);
  const abandoned = dated.filter((e) => e.name.includes('.tmp-') && e.mtime < Date.now() - 3_600_000);
  for (const { name } of [...built.slice(CACHE_KEEP), ...abandoned])
    await rm(path.join(CACHE_DIR, name), { recursive: true, force: true }).catch(() => {});
}

/**
 * `wrangler deploy --dry-run --outdir` of `entry` (default: the config's main) with `config`, cached by
 * content: the build's arguments, the config, the entry, package-lock.json, tsconfig.json and every file under
 * `sources` (default `src`) make the key, and a build whose key was built before is not built again
 * (`node_modules/.cache/gateway-bundle/<key>/`). A build goes to a temporary directory renamed into place
 * when complete, so concurrent builders never see half a bundle. esbuild's list of what it read checks the
 * key after each build: a file outside node_modules that the key does not cover is an error, never a stale
 * bundle later.
 */
export async function buildBundle(
  opts: { config?: string; entry?: string; sources?: string[] } = {},
): Promise<Bundle> {
  const config = opts.config ?? 'wrangler.toml';
  const args = [...(opts.entry ? [opts.entry] : []), '--config', config];
  const { key, files } = await bundleKey(args, [
    ...ALWAYS_HASHED,
    config,
    ...(opts.entry ? [opts.entry] : []),
    ...(opts.sources ?? ['src']),
  ]);
  const dir = path.join(CACHE_DIR, key);
  const cached = await readEntry(dir);
  if (cached) return cached;

  await mkdir(CACHE_DIR, { recursive: true });
  // Beside its final place, so the source map's relative paths hold after the rename.
  const building = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const metafile = path.join(building, 'bundle-meta.json');
    await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'node_modules/wrangler/bin/wrangler.js'),
        'deploy',
        ...(opts.entry ? [opts.entry] : []),
        '--dry-run',
        '--outdir',
        building,
        '--metafile',
        metafile,
        '--config',
        config,
      ],
      {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    // esbuild names inputs relative to the config's directory (wrangler's project root).
    const meta = JSON.parse(await readFile(metafile, 'utf8')) as { inputs: Record<string, unknown> };
    const base = path.dirname(path.join(root, config));
    for (const input of Object.keys(meta.inputs)) {
      if (input.includes(':')) continue; // a virtual module of wrangler's
      const file = path.relative(root, path.resolve(base, input)).split(path.sep).join('/');
      if (file.startsWith('node_modules/') || files.has(file)) continue;
      throw new Error(
        `the bundle of ${config} reads ${file}, which its cache key does not cover: add it to sources`,
      );
    }
    const script = (await readdir(building)).find((name) => name.endsWith('.js'));
    if (!script) throw new Error(`wrangler wrote no .js bundle for ${config}`);
    const code = await readFile(path.join(building, script));
    const entry: CacheEntry = { script, bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
    await writeFile(path.join(building, 'bundle.json'), JSON.stringify(entry));
    // Whoever renames first wins; a later builder of the same key finds the place taken and uses that.
    await rename(building, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  await pruneCache();
  const built = await readEntry(dir);
  if (!built) throw new Error(`no bundle in ${dir} after building it`);
  return { ...built, cached: false };
}

type QueueConsumer = {
  maxBatchSize?: number;
  maxBatchTimeout?: number;
  maxRetries?: number;
  deadLetterQueue?: string;
  retryDelay?: number;
};

/** The `key = value` lines of every `[[heading]]` table of wrangler.toml, one record per table. */
function tomlTables(toml: string, heading: string): Record<string, string | number>[] {
  const tables: Record<string, string | number>[] = [];
  for (const part of toml.split(`[[${heading}]]`).slice(1)) {
    const table: Record<string, string | number> = {};
    for (const line of part.split('\n').slice(1)) {
      if (/^\s*\[/.test(line)) break;
      const pair = /^\s*(\w+)\s*=\s*(?:"([^"]*)"|(\d+(?:\.\d+)?))/.exec(line);
      if (pair) table[pair[1]] = pair[2] ?? Number(pair[3]);
    }
    tables.push(table);
  }
  return tables;
}

/** What Miniflare needs from wrangler.toml: the compatibility date, the Durable Objects and the queues. */
async function wranglerSettings() {
  const toml = await readFile(path.join(root, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  const durableObjects: Record<string, { className: string; useSQLite: true }> = {};
  const binding = /\[\[durable_objects\.bindings\]\]\s*name\s*=\s*"(\w+)"\s*class_name\s*=\s*"(\w+)"/g;
  for (const [, name, className] of toml.matchAll(binding))
    durableObjects[name] = { className, useSQLite: true };
  const queueProducers: Record<string, { queueName: string }> = {};
  for (const producer of tomlTables(toml, 'queues.producers'))
    queueProducers[String(producer.binding)] = { queueName: String(producer.queue) };
  const queueConsumers: Record<string, QueueConsumer> = {};
  for (const consumer of tomlTables(toml, 'queues.consumers')) {
    queueConsumers[String(consumer.queue)] = {
      maxBatchSize: consumer.max_batch_size as number | undefined,
      maxBatchTimeout: consumer.max_batch_timeout as number | undefined,
      maxRetries: consumer.max_retries as number | undefined,
      deadLetterQueue: consumer.dead_letter_queue as string | undefined,
      retryDelay: consumer.retry_delay as number | undefined,
    };
  }
  return { date, durableObjects, queueProducers, queueConsumers };
}

/** The last `lines` lines of a text file. */
export async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error: Error) => `(unreadable: ${error.message})`);
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export type RunningWorker = { name: string; url: string; port: number };

export async function startWorker(opts: {
  name: string;
  bundle: Bundle;
  bindings: Record<string, string>;
  /** Binds the gateway's Durable Objects and its USAGE queue (producer and consumers), as wrangler.toml declares them. */
  withDurableObjects?: boolean;
  /** Opens workerd's DevTools inspector on this port (for the CPU profile). */
  inspectorPort?: number;
  /**
   * Appends workerd's own stdout and stderr (its error traces, the worker's console) to this file instead of
   * passing them to this process's, as Miniflare does by default.
   */
  runtimeLog?: string;
}): Promise<RunningWorker> {
  const port = await freePort();
  const settings = await wranglerSettings();
  const log = opts.runtimeLog ? createWriteStream(opts.runtimeLog, { flags: 'a' }) : null;
  const mf = new Miniflare({
    name: opts.name,
    modules: true,
    scriptPath: opts.bundle.scriptPath,
    modulesRoot: path.dirname(opts.bundle.scriptPath),
    compatibilityDate: settings.date,
    compatibilityFlags: ['nodejs_compat'],
    bindings: opts.bindings,
    durableObjects: opts.withDurableObjects ? settings.durableObjects : undefined,
    queueProducers: opts.withDurableObjects ? settings.queueProducers : undefined,
    queueConsumers: opts.withDurableObjects ? settings.queueConsumers : undefined,
    unsafeDirectSockets: [{ host: '127.0.0.1', port }],
    inspectorPort: opts.inspectorPort,
    ...(log && {
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        stdout.pipe(log, { end: false });
        stderr.pipe(log, { end: false });
      },
    }),
  });
  const stop = async () => {
    await mf.dispose();
    if (log) await finished(log.end()).catch(() => {});
  };
  onCleanup(`workerd ${opts.name}`, stop);
  try {
    await mf.ready;
  } catch (error) {
    if (!log || !opts.runtimeLog) throw error;
    await stop().catch(() => {});
    throw new Error(
      `workerd ${opts.name} did not start: ${error instanceof Error ? error.message : error}\n` +
        `last lines of its output (${opts.runtimeLog}):\n${await tail(opts.runtimeLog, 40)}`,
      { cause: error },
    );
  }
  const url = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, '');
  return { name: opts.name, url, port };
}
