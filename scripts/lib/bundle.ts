// Builds a worker the way `wrangler deploy` does (`wrangler deploy --dry-run --outdir`), cached by content.
// Shared by the bench, the battery's process tests and `npm start` (scripts/start.ts).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = path.resolve(import.meta.dirname, '../..');

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
