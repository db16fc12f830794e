// CPU time of a local process from Linux's /proc, for the bench's "CPU per request": workerd has no
// per-request accounting locally, so a round is charged the user + system time its workerd process spent
// during it, divided by the requests it answered (issue 20: judged by microseconds, not by req/s alone).
import { execFileSync } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';

// Clock ticks per second of utime/stime (getconf CLK_TCK; 100 on every Linux we run).
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU time `pid` has used so far, in microseconds. */
export async function processCpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // pid (comm) state ppid …: comm may hold spaces, so count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after comm.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}

/** The process listening on 127.0.0.1:`port` (a worker's direct socket), found by its socket's inode. */
export async function pidListeningOn(port: number): Promise<number> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is column 10.
    if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(`socket:[${cols[9]}]`);
  }
  if (inodes.size === 0) throw new Error(`nothing listens on 127.0.0.1:${port}`);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      if (inodes.has(target)) return Number(entry);
    }
  }
  throw new Error(`no process of ours holds the socket listening on 127.0.0.1:${port}`);
}
