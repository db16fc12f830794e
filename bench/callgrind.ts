// Reading callgrind's counts of a workerd process (bench/instructions.ts, bench/gate-calls.ts): what it ran
// while something ran, and how much of that was V8's sweeper spinning.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// V8's cppgc sweeper works to deadlines in time: under valgrind it now and then spins for seconds, and a count
// is then mostly its loop (seen: 4.8M instructions a request instead of 0.75M). Counts with more than this
// share in it are taken again.
export const SWEEPER_SPIN_SHARE = 0.05;
const SWEEPER = /cppgc::internal::.*Sweep|PumpMessageLoop/;

export type Count = { instructions: number; sweeperShare: number };

/** Total instructions of a callgrind dump, and the share of them in V8's sweeper and its task loop. */
function readDump(text: string): Count {
  const totals = /^totals: (\d+)/m.exec(text) ?? /^summary: (\d+)/m.exec(text);
  if (!totals) throw new Error("no totals in callgrind's dump");
  const names = new Map<string, string>();
  let inSweeper = false;
  let callCost = false;
  let sweeper = 0;
  for (const line of text.split('\n')) {
    const named = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named) {
      if (named[2]) names.set(named[1], named[2]);
      if (line.startsWith('fn=')) inSweeper = SWEEPER.test(names.get(named[1]) ?? '');
    } else if (line.startsWith('calls=')) {
      callCost = true; // the next cost line is the callee's, not this function's own
    } else if (/^[0-9+*-]/.test(line)) {
      if (inSweeper && !callCost) sweeper += Number(line.split(' ')[1] ?? 0);
      callCost = false;
    }
  }
  const instructions = Number(totals[1]);
  return { instructions, sweeperShare: instructions > 0 ? sweeper / instructions : 0 };
}

/** What the process runs while `run` runs (its counters zeroed before, dumped after). */
export async function counted(dir: string, pid: number, run: () => Promise<void>): Promise<Count> {
  execFileSync('callgrind_control', ['--zero', String(pid)], { stdio: 'ignore' });
  await run();
  execFileSync('callgrind_control', ['--dump', String(pid)], { stdio: 'ignore' });
  const serial = (f: string) => Number(f.slice(f.lastIndexOf('.') + 1));
  const dumps = (await readdir(dir)).filter((f) => f.startsWith(`callgrind.${pid}.out.`));
  const last = dumps.sort((a, b) => serial(a) - serial(b)).at(-1);
  if (!last) throw new Error(`callgrind wrote no dump of ${pid}`);
  return readDump(await readFile(path.join(dir, last), 'utf8'));
}
