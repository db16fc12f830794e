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
import { pidListeningOn } from './process-cpu';

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

/** What Miniflare needs from wrangler.toml, as wrangler itself reads it. */
export type WranglerSettings = {
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Every `[[durable_objects.bindings]]`; `sqlite`: the class is among the migrations' new_sqlite_classes. */
  durableObjects: { name: string; className: string; sqlite: boolean }[];
  /** `[[queues.producers]]`: binding → queue. */
  queueProducers: { binding: string; queue: string; deliveryDelay?: number }[];
  /** `[[queues.consumers]]` (this worker's `queue()` handler). */
  queueConsumers: {
    queue: string;
    maxBatchSize?: number;
    maxBatchTimeout?: number;
    maxRetries?: number;
    deadLetterQueue?: string;
    retryDelay?: number;
  }[];
};

/** The part of wrangler's parsed config read here (its type comes from a package wrangler does not ship). */
type WranglerConfig = {
  compatibility_date?: string;
  compatibility_flags: string[];
  migrations: { new_sqlite_classes?: string[] }[];
  durable_objects: { bindings: { name: string; class_name: string; script_name?: string }[] };
  queues: {
    producers?: { binding: string; queue: string; delivery_delay?: number }[];
    consumers?: {
      queue: string;
      max_batch_size?: number | null;
      max_batch_timeout?: number | null;
      max_retries?: number | null;
      dead_letter_queue?: string | null;
      retry_delay?: number | null;
    }[];
  };
};

/** Parsed configs, one file per hash of wrangler.toml: wrangler's reader takes ~3 s to import. */
const CONFIG_CACHE_DIR = path.join(root, 'node_modules/.cache/gateway-config');
const settingsRead = new Map<string, Promise<WranglerSettings>>();

/**
 * wrangler.toml read by wrangler's own config reader (`unstable_readConfig`, what `wrangler deploy` uses), so
 * any TOML spelling of a binding is understood; cached by the file's content.
 */
export function wranglerSettings(config = 'wrangler.toml'): Promise<WranglerSettings> {
  let read = settingsRead.get(config);
  if (!read) {
    read = readSettings(config);
    settingsRead.set(config, read);
  }
  return read;
}

async function readSettings(config: string): Promise<WranglerSettings> {
  const text = await readFile(path.join(root, config));
  const key = createHash('sha256').update(`${CACHE_FORMAT}\0`).update(text).digest('hex').slice(0, 32);
  const cacheFile = path.join(CONFIG_CACHE_DIR, `${key}.json`);
  const cachedText = await readFile(cacheFile, 'utf8').catch(() => null);
  if (cachedText) return JSON.parse(cachedText) as WranglerSettings;
  const { unstable_readConfig } = await import('wrangler');
  const c = unstable_readConfig({ config: path.join(root, config) }, {}) as unknown as WranglerConfig;
  if (!c.compatibility_date) throw new Error(`${config} has no compatibility_date`);
  const sqlite = new Set(c.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const settings: WranglerSettings = {
    compatibilityDate: c.compatibility_date,
    compatibilityFlags: c.compatibility_flags,
    durableObjects: c.durable_objects.bindings
      .filter((b) => !b.script_name)
      .map((b) => ({ name: b.name, className: b.class_name, sqlite: sqlite.has(b.class_name) })),
    queueProducers: (c.queues.producers ?? []).map((p) => ({
      binding: p.binding,
      queue: p.queue,
      ...(p.delivery_delay !== undefined && { deliveryDelay: p.delivery_delay }),
    })),
    queueConsumers: (c.queues.consumers ?? []).map((q) => ({
      queue: q.queue,
      ...(q.max_batch_size != null && { maxBatchSize: q.max_batch_size }),
      ...(q.max_batch_timeout != null && { maxBatchTimeout: q.max_batch_timeout }),
      ...(q.max_retries != null && { maxRetries: q.max_retries }),
      ...(q.dead_letter_queue != null && { deadLetterQueue: q.dead_letter_queue }),
      ...(q.retry_delay != null && { retryDelay: q.retry_delay }),
    })),
  };
  await mkdir(CONFIG_CACHE_DIR, { recursive: true });
  const temporary = `${cacheFile}.tmp-${process.pid}`;
  await writeFile(temporary, JSON.stringify(settings));
  await rename(temporary, cacheFile);
  return settings;
}

/** The Durable Object classes a bundle exports (esbuild's closing `export { … }`). */
async function exportedNames(scriptPath: string): Promise<Set<string>> {
  const code = await readFile(scriptPath, 'utf8');
  const names = new Set<string>();
  for (const [, list] of code.matchAll(/^export\s*\{([^}]*)\}/gm))
    for (const item of list.split(','))
      names.add(
        item
          .trim()
          .split(/\s+as\s+/)
          .pop()!
          .trim(),
      );
  return names;
}

/** The last `lines` lines of a text file. */
export async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error: Error) => `(unreadable: ${error.message})`);
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** `pid`: the workerd process that runs it (every worker of one startWorkers call shares it). */
export type RunningWorker = { name: string; url: string; port: number; pid: number };

/**
 * Several workers running the same bundle in one workerd process (one Miniflare), each its own isolate with
 * its own module state and its own direct socket, as one deployment's isolates are on Cloudflare. With
 * `withDurableObjects`, the bindings wrangler.toml declares: the first worker defines every Durable Object
 * class and the others bind the same namespaces to it by `scriptName` (one gate per tenant for all of them);
 * every worker produces to the declared queues and the first consumes them (Miniflare allows one consumer per
 * queue; on Cloudflare any isolate of the worker may run `queue()`).
 */
export async function startWorkers(opts: {
  bundle: Bundle;
  /** Whose bindings (default wrangler.toml). */
  config?: string;
  workers: { name: string; bindings: Record<string, string> }[];
  withDurableObjects?: boolean;
  /** Opens workerd's DevTools inspector on this port (for the CPU profile). */
  inspectorPort?: number;
  /**
   * Appends workerd's own stdout and stderr (its error traces, the worker's console) to this file instead of
   * passing them to this process's, as Miniflare does by default.
   */
  runtimeLog?: string;
}): Promise<RunningWorker[]> {
  const settings = await wranglerSettings(opts.config);
  const first = opts.workers[0]?.name;
  if (!first) throw new Error('startWorkers: no worker');
  if (opts.withDurableObjects) {
    const exported = await exportedNames(opts.bundle.scriptPath);
    const missing = settings.durableObjects.filter((d) => !exported.has(d.className));
    if (missing.length > 0)
      throw new Error(
        `wrangler.toml binds ${missing.map((d) => d.className).join(', ')}, which the bundle does not export`,
      );
  }
  const ports = await Promise.all(opts.workers.map(() => freePort()));
  const log = opts.runtimeLog ? createWriteStream(opts.runtimeLog, { flags: 'a' }) : null;
  const mf = new Miniflare({
    workers: opts.workers.map((w, i) => ({
      name: w.name,
      modules: true,
      scriptPath: opts.bundle.scriptPath,
      modulesRoot: path.dirname(opts.bundle.scriptPath),
      compatibilityDate: settings.compatibilityDate,
      compatibilityFlags: settings.compatibilityFlags,
      bindings: w.bindings,
      ...(opts.withDurableObjects && {
        durableObjects: Object.fromEntries(
          settings.durableObjects.map((d) => [
            d.name,
            { className: d.className, useSQLite: d.sqlite, ...(i > 0 && { scriptName: first }) },
          ]),
        ),
        queueProducers: Object.fromEntries(
          settings.queueProducers.map((p) => [
            p.binding,
            { queueName: p.queue, ...(p.deliveryDelay !== undefined && { deliveryDelay: p.deliveryDelay }) },
          ]),
        ),
        ...(i === 0 && {
          queueConsumers: Object.fromEntries(settings.queueConsumers.map(({ queue, ...q }) => [queue, q])),
        }),
      }),
      unsafeDirectSockets: [{ host: '127.0.0.1', port: ports[i] }],
    })),
    inspectorPort: opts.inspectorPort,
    ...(log && {
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        stdout.pipe(log, { end: false });
        stderr.pipe(log, { end: false });
      },
    }),
  });
  const names = opts.workers.map((w) => w.name).join(', ');
  const stop = async () => {
    await mf.dispose();
    if (log) await finished(log.end()).catch(() => {});
  };
  onCleanup(`workerd ${names}`, stop);
  try {
    await mf.ready;
  } catch (error) {
    if (!log || !opts.runtimeLog) throw error;
    await stop().catch(() => {});
    throw new Error(
      `workerd ${names} did not start: ${error instanceof Error ? error.message : error}\n` +
        `last lines of its output (${opts.runtimeLog}):\n${await tail(opts.runtimeLog, 40)}`,
      { cause: error },
    );
  }
  const pid = await pidListeningOn(ports[0]);
  return Promise.all(
    opts.workers.map(async (w, i) => ({
      name: w.name,
      url: (await mf.unsafeGetDirectURL(w.name)).toString().replace(/\/$/, ''),
      port: ports[i],
      pid,
    })),
  );
}

/** One worker in its own workerd process: {@link startWorkers} with one. */
export async function startWorker(opts: {
  name: string;
  bundle: Bundle;
  bindings: Record<string, string>;
  /** The Durable Objects and queues wrangler.toml declares. */
  withDurableObjects?: boolean;
  inspectorPort?: number;
  runtimeLog?: string;
}): Promise<RunningWorker> {
  const [worker] = await startWorkers({ ...opts, workers: [{ name: opts.name, bindings: opts.bindings }] });
  return worker;
}
