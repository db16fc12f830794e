// Everything the harness starts registers how to stop it here; `stopAll` runs on success, on error and on
// Ctrl-C, newest first, so no process outlives a run.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

const stops: { name: string; stop: () => Promise<unknown> }[] = [];

export function onCleanup(name: string, stop: () => Promise<unknown>) {
  stops.push({ name, stop });
}

export async function stopAll() {
  while (stops.length > 0) {
    const { stop } = stops.pop()!;
    await stop().catch(() => {});
  }
}

/** Spawns a process in its own process group and registers stopping the whole group. */
export function spawnOwned(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions = {},
): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts, detached: true });
  onCleanup(name, () => stopGroup(child));
  return child;
}

export async function stopGroup(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {}
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping everything the benchmark started …`);
    void stopAll().finally(() => process.exit(130));
  });
}
