// The bench's view of the shared workerd runner (scripts/lib/bundle.ts, scripts/lib/workerd.ts): every
// workerd process it starts is registered with the harness's cleanup, so none outlives a run.
import * as shared from '../scripts/lib/workerd';
import { onCleanup } from './cleanup';

export { type Bundle, buildBundle } from '../scripts/lib/bundle';
export { type RunningWorker, tail, type WranglerSettings, wranglerSettings } from '../scripts/lib/workerd';

type WorkersOptions = Omit<Parameters<typeof shared.startWorkers>[0], 'onStop'>;

/** {@link shared.startWorkers}, stopped by the harness's `stopAll`. */
export function startWorkers(opts: WorkersOptions): Promise<shared.RunningWorker[]> {
  return shared.startWorkers({ ...opts, onStop: onCleanup });
}

/** One worker in its own workerd process, stopped by the harness's `stopAll`. */
export function startWorker(
  opts: Omit<Parameters<typeof shared.startWorker>[0], 'onStop'>,
): Promise<shared.RunningWorker> {
  return shared.startWorker({ ...opts, onStop: onCleanup });
}
