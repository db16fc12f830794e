// The bench's view of the shared workerd runner (scripts/lib/bundle.ts, scripts/lib/workerd.ts): every
// workerd process it starts is registered with the harness's cleanup, so none outlives a run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as shared from '../scripts/lib/workerd';
import { onCleanup } from './cleanup';

export { type Bundle, buildBundle } from '../scripts/lib/bundle';
export { type RunningWorker, tail, type WranglerSettings, wranglerSettings } from '../scripts/lib/workerd';

type WorkersOptions = Omit<Parameters<typeof shared.startWorkers>[0], 'onStop' | 'durableObjectsDir'>;

/**
 * Durable Object files in memory-backed storage (/dev/shm) where the machine has it: on this machine's disk
 * every storage commit waits for its fsync on workerd's one thread, which Cloudflare's storage never does on
 * the thread serving requests (it replicates the write and holds the answer, not the isolate), so a gate
 * call would be charged several milliseconds of CPU time it does not cost there. Removed when the run ends.
 */
async function durableObjectsDir(): Promise<string> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'gateway-bench-do-'));
  onCleanup(`Durable Object files ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** {@link shared.startWorkers}, stopped by the harness's `stopAll`. */
export async function startWorkers(opts: WorkersOptions): Promise<shared.RunningWorker[]> {
  const dir = opts.withDurableObjects ? await durableObjectsDir() : undefined;
  return shared.startWorkers({ ...opts, durableObjectsDir: dir, onStop: onCleanup, subrequestWorker: false });
}

/** One worker in its own workerd process, stopped by the harness's `stopAll`. */
export async function startWorker(
  opts: Omit<Parameters<typeof shared.startWorker>[0], 'onStop' | 'durableObjectsDir'>,
): Promise<shared.RunningWorker> {
  const dir = opts.withDurableObjects ? await durableObjectsDir() : undefined;
  return shared.startWorker({ ...opts, durableObjectsDir: dir, onStop: onCleanup, subrequestWorker: false });
}
