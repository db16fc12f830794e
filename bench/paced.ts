// Runs the paced load generator (bench/paced-child.ts) and reads its log: the per-tenant, per-minute count of
// admitted requests that the limit checks of the long tail are made of.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnOwned } from './cleanup';
import type { PacedSpec, PacedSummary } from './paced-child';

export type PacedRecord = {
  /** The generated tenant's number (bench/seed.ts). */
  tenant: number;
  socket: number;
  sentAt: number;
  doneAt: number;
  status: number;
  /** Epoch ms of the start of the minute window the answer counted in. */
  window: number;
  /** Whether the window came from the answer's RateLimit header (else: the calendar minute it was sent). */
  fromHeader: boolean;
};

export type PacedRun = { summary: PacedSummary; records: PacedRecord[] };

type Reply = { id?: number; ready?: true; summary?: PacedSummary; error?: string };

let runs = 0;
let child: Promise<ChildProcess> | null = null;
const waiting = new Map<number, { resolve: (s: PacedSummary) => void; reject: (e: Error) => void }>();

/** The one paced client of the run, started on first use (tsx's start-up is paid once, not per run). */
function pacedClient(): Promise<ChildProcess> {
  child ??= new Promise((resolve, reject) => {
    const started = spawnOwned(
      'paced client',
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'paced-child.ts')],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    started.on('message', (reply: Reply) => {
      if (reply.ready) return resolve(started);
      const run = reply.id === undefined ? undefined : waiting.get(reply.id);
      if (!run) return;
      waiting.delete(reply.id as number);
      if (reply.summary) run.resolve(reply.summary);
      else run.reject(new Error(`the paced client failed: ${reply.error}`));
    });
    started.once('exit', (code) => {
      const error = new Error(`the paced client exited (${code})`);
      reject(error);
      for (const run of waiting.values()) run.reject(error);
      waiting.clear();
    });
  });
  return child;
}

/** One run of the paced client (several may run at once); answers its summary and its log, parsed. */
export async function runPaced(spec: Omit<PacedSpec, 'logFile'>, tmpDir: string): Promise<PacedRun> {
  const id = ++runs;
  const logFile = path.join(tmpDir, `paced-${process.pid}-${id}.log`);
  const client = await pacedClient();
  const summary = await new Promise<PacedSummary>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    client.send({ id, spec: { ...spec, logFile } });
  });
  const tenants = spec.generated.tenants;
  const records: PacedRecord[] = [];
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line) continue;
    const [n, socket, sentAt, doneAt, status, window, fromHeader] = line.split(',').map(Number);
    records.push({
      tenant: tenants[n % tenants.length],
      socket,
      sentAt,
      doneAt,
      status,
      window,
      fromHeader: fromHeader === 1,
    });
  }
  return { summary, records };
}

export type LimitCheck = {
  limit: number;
  /** (tenant, minute) pairs with at least one answer, over every request logged for these tenants. */
  tenantMinutes: number;
  /** Pairs with more than `limit` requests admitted (200), and the most admitted in any. */
  over: number;
  mostAdmitted: number;
  /** Minutes wholly inside the pushed run, per tenant; those admitting < 90 % of the limit; the lowest share. */
  fullMinutes: number;
  fullBelow90: number;
  lowestFullShare: number | null;
  /** Full minutes in which the tenant's answers (200 + 429) were fewer than its limit: the load fell short. */
  fullShortOfLoad: number;
  /** The other minutes (cut by the run's start or end): admitted ≥ 90 % of min(limit, answered)? */
  partialMinutes: number;
  partialBelow90: number;
  lowestPartialShare: number | null;
  /** Share of answers whose window came from their RateLimit header. */
  fromHeader: number;
};

/**
 * No minute of any tenant over its limit, and every tenant admitted ≥ 90 % of its limit in every full minute
 * of `span` (the pushed run): counted from the load generator's own log (`records`: every request sent to
 * these tenants, warm-up included, so nothing the limiter counted is missed).
 */
export function checkLimit(
  records: PacedRecord[],
  limit: number,
  span: { from: number; to: number },
): LimitCheck {
  const cells = new Map<string, { window: number; admitted: number; answered: number }>();
  let fromHeader = 0;
  for (const r of records) {
    if (r.fromHeader) fromHeader++;
    if (r.status !== 200 && r.status !== 429) continue;
    const key = `${r.tenant}:${r.window}`;
    let cell = cells.get(key);
    if (!cell) {
      cell = { window: r.window, admitted: 0, answered: 0 };
      cells.set(key, cell);
    }
    cell.answered++;
    if (r.status === 200) cell.admitted++;
  }
  const check: LimitCheck = {
    limit,
    tenantMinutes: cells.size,
    over: 0,
    mostAdmitted: 0,
    fullMinutes: 0,
    fullBelow90: 0,
    lowestFullShare: null,
    fullShortOfLoad: 0,
    partialMinutes: 0,
    partialBelow90: 0,
    lowestPartialShare: null,
    fromHeader: records.length ? fromHeader / records.length : 0,
  };
  for (const cell of cells.values()) {
    if (cell.admitted > limit) check.over++;
    check.mostAdmitted = Math.max(check.mostAdmitted, cell.admitted);
    if (cell.window >= span.from && cell.window + 60_000 <= span.to) {
      check.fullMinutes++;
      const share = cell.admitted / limit;
      if (share < 0.9) check.fullBelow90++;
      if (cell.answered < limit) check.fullShortOfLoad++;
      check.lowestFullShare = Math.min(check.lowestFullShare ?? share, share);
    } else if (cell.window + 60_000 > span.from && cell.window < span.to) {
      check.partialMinutes++;
      const share = cell.admitted / Math.min(limit, cell.answered);
      if (share < 0.9) check.partialBelow90++;
      check.lowestPartialShare = Math.min(check.lowestPartialShare ?? share, share);
    }
  }
  return check;
}
