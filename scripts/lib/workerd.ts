// Runs a bundle (./bundle.ts) in workerd through Miniflare's Node API. Requests go to a direct socket of the
// user worker: no Node proxy and no Miniflare entry worker in between, unlike `wrangler dev`, whose local
// proxy caps throughput. Shared by the bench (bench/workerd.ts), the battery's process tests and `npm start`.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Miniflare } from 'miniflare';
import type { Bundle } from './bundle';
import { freePort } from './ports';
import { pidListeningOn } from './process-cpu';

const root = path.resolve(import.meta.dirname, '../..');
/** Bumped when what a parsed config's cache file holds changes. */
const CONFIG_FORMAT = 3;

/** What Miniflare needs from wrangler.toml, as wrangler itself reads it. */
export type WranglerSettings = {
  compatibilityDate: string;
  /** `[vars]`, as strings (what the worker's bindings hold). */
  vars: Record<string, string>;
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
  /** `[[kv_namespaces]]`: binding names (the bench's peer). */
  kvNamespaces: string[];
  /** `[[ratelimits]]`: Cloudflare's rate-limit binding (the bench's peer). */
  ratelimits: { name: string; limit: number; period: 10 | 60 }[];
};

/** The part of wrangler's parsed config read here (its type comes from a package wrangler does not ship). */
type WranglerConfig = {
  compatibility_date?: string;
  vars: Record<string, unknown>;
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
  kv_namespaces: { binding: string }[];
  ratelimits?: { name: string; simple: { limit: number; period: 10 | 60 } }[];
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
  const key = createHash('sha256').update(`${CONFIG_FORMAT}\0`).update(text).digest('hex').slice(0, 32);
  const cacheFile = path.join(CONFIG_CACHE_DIR, `${key}.json`);
  const cachedText = await readFile(cacheFile, 'utf8').catch(() => null);
  if (cachedText) return JSON.parse(cachedText) as WranglerSettings;
  const { unstable_readConfig } = await import('wrangler');
  const c = unstable_readConfig({ config: path.join(root, config) }, {}) as unknown as WranglerConfig;
  if (!c.compatibility_date) throw new Error(`${config} has no compatibility_date`);
  const sqlite = new Set(c.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const settings: WranglerSettings = {
    compatibilityDate: c.compatibility_date,
    vars: Object.fromEntries(
      Object.entries(c.vars ?? {}).map(([name, value]) => [
        name,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    ),
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
    kvNamespaces: (c.kv_namespaces ?? []).map((k) => k.binding),
    ratelimits: (c.ratelimits ?? []).map((r) => ({ name: r.name, ...r.simple })),
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
  /** `port`: the worker's direct socket on 127.0.0.1 (default a free one). */
  workers: { name: string; bindings: Record<string, string>; port?: number }[];
  withDurableObjects?: boolean;
  /**
   * Where the Durable Objects keep their files (default: Miniflare's, under the temporary directory); the
   * bench puts them in memory-backed storage, see bench/workerd.ts.
   */
  durableObjectsDir?: string;
  /** Told how to stop the workerd process as soon as it is started, before it is ready. */
  onStop: (name: string, stop: () => Promise<unknown>) => void;
  /** Opens workerd's DevTools inspector on this port (for the CPU profile). */
  inspectorPort?: number;
  /**
   * Appends workerd's own stdout and stderr (its error traces, the worker's console) to this file instead of
   * passing them to this process's, as Miniflare does by default.
   */
  runtimeLog?: string;
  /**
   * Miniflare's stand-in for what Cloudflare does to every subrequest (drop CF-Connecting-IP, add CF-Worker):
   * a JavaScript worker of its own that each outbound fetch passes through, in this same process (default
   * on). The bench turns it off: on Cloudflare that work is the platform's, not the worker's CPU time.
   */
  subrequestWorker?: boolean;
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
  const ports = await Promise.all(opts.workers.map((w) => w.port ?? freePort()));
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
      kvNamespaces: settings.kvNamespaces,
      ratelimits: Object.fromEntries(
        settings.ratelimits.map((r) => [r.name, { simple: { limit: r.limit, period: r.period } }]),
      ),
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
      stripCfConnectingIp: opts.subrequestWorker ?? true,
    })),
    inspectorPort: opts.inspectorPort,
    ...(opts.durableObjectsDir && { durableObjectsPersist: opts.durableObjectsDir }),
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
  opts.onStop(`workerd ${names}`, stop);
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
  /** Whose bindings (default wrangler.toml). */
  config?: string;
  bindings: Record<string, string>;
  /** The Durable Objects and queues wrangler.toml declares. */
  withDurableObjects?: boolean;
  durableObjectsDir?: string;
  inspectorPort?: number;
  runtimeLog?: string;
  port?: number;
  onStop: (name: string, stop: () => Promise<unknown>) => void;
  subrequestWorker?: boolean;
}): Promise<RunningWorker> {
  const [worker] = await startWorkers({
    ...opts,
    workers: [{ name: opts.name, bindings: opts.bindings, port: opts.port }],
  });
  return worker;
}
