// Writes a run's results: bench/results.json (everything), bench/results.md and the README's table between
// the bench markers (a --quick run writes to its temporary directory instead: it never replaces real figures).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadResult } from './load';
import type { ProfileShare } from './profile';
import { refusals, type TailResults } from './tail';

export type ScenarioResult = {
  name: string;
  /** Null when the scenario could not run; `note` says why. */
  median: LoadResult | null;
  rounds: LoadResult[];
  /** Requests per second relative to the bare passthrough worker. */
  ratio: number | null;
  dbQueriesPer1000: number | null;
  note?: string;
};

export type Figure = { figure: string; value: string; target: string; met: 'yes' | 'no' | 'n/a' };

export type Results = {
  date: string;
  machine: string;
  method: string;
  scenarios: ScenarioResult[];
  /** The long tail: two isolates per deployment (bench/tail.ts). */
  tail?: TailResults;
  figures: Figure[];
  /** Share of the gateway isolate's busy CPU time by bundled package or source file. */
  profiles: { name: string; shares: ProfileShare[] }[];
  notes: string[];
};

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const ms = (v: number) => v.toFixed(2);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

export function renderMarkdown(r: Results): string {
  const scenarios = r.scenarios.map((s) =>
    s.median
      ? row([
          s.name,
          Math.round(s.median.rps),
          ms(s.median.p50),
          ms(s.median.p90),
          ms(s.median.p99),
          s.ratio === null ? '' : `${s.ratio.toFixed(2)}×`,
          s.median.cpuMicrosPerRequest === undefined ? '' : s.median.cpuMicrosPerRequest.toFixed(0),
          s.dbQueriesPer1000 === null ? '' : s.dbQueriesPer1000.toFixed(1),
          s.median.bad,
        ])
      : row([s.name, s.note ?? 'not run', '', '', '', '', '', '', '']),
  );
  return [
    `Last run ${r.date} on ${r.machine}.`,
    '',
    r.method,
    '',
    row([
      'scenario',
      'req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      '× passthrough',
      'CPU µs / req',
      'DB queries / 1k req',
      'errors',
    ]),
    row(['---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:']),
    ...scenarios,
    ...(r.tail ? ['', ...renderTail(r.tail)] : []),
    '',
    row(['figure', 'measured', 'target', 'met']),
    row(['---', '---', '---', '---']),
    ...r.figures.map((f) => row([f.figure, f.value, f.target, f.met])),
    '',
    ...r.profiles.map(
      (p) =>
        `- CPU profile of the isolate, ${p.name}: ` +
        p.shares.map((s) => `${s.part} ${s.percent.toFixed(0)} %`).join(', '),
    ),
    ...r.notes.map((n) => `- ${n}`),
  ].join('\n');
}

export async function writeResults(r: Results, dir: string, readme: string | null) {
  const markdown = renderMarkdown(r);
  await writeFile(path.join(dir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(path.join(dir, 'results.md'), `# Benchmark results\n\n${markdown}\n`);
  if (!readme) return;
  const text = await readFile(readme, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README has no ${START} … ${END} markers`);
  await writeFile(readme, `${text.slice(0, start + START.length)}\n${markdown}\n${text.slice(end)}`);
}

const per1000 = (v: number | null) => (v === null ? '—' : v.toFixed(1));

function renderTail(t: TailResults): string[] {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const warm = t.warmup
    .map(
      (w) =>
        `${w.deployment}: ${w.loaded.toLocaleString('en')} of ${w.requests.toLocaleString('en')} tenant loads (${w.tenants.toLocaleString('en')} tenants × 2 isolates) in ${seconds(w.ms)}` +
        (w.refused || w.unsent ? ` (${refusals(w)})` : ''),
    )
    .join('; ');
  return [
    `Long tail. ${t.method} Seeding both databases: ${seconds(t.seedingMs)}. Every tenant in use loaded into both isolates before the rounds: ${warm}.`,
    '',
    row([
      'long-tail scenario (two isolates)',
      'load',
      'requests',
      'req/s',
      'p50 ms',
      'p99 ms',
      '× 1 tenant',
      'CPU µs / req',
      'gate calls / 1k req',
      'feed polls / 1k req',
      'Postgres tx / 1k req',
      '429',
      'errors',
    ]),
    row(['---', '---', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:', '--:']),
    ...t.rows.map((x) =>
      row([
        x.name,
        x.load,
        x.requests.toLocaleString('en'),
        Math.round(x.median.rps),
        ms(x.median.p50),
        ms(x.median.p99),
        x.ratio !== null ? `${x.ratio.toFixed(2)}×` : x.isReference ? '1.00×' : '—',
        x.median.cpuMicrosPerRequest !== undefined ? Math.round(x.median.cpuMicrosPerRequest) : '—',
        per1000(x.gatePer1000),
        per1000(x.feedPer1000),
        per1000(x.transactionsPer1000),
        x.limited,
        x.median.bad,
      ]),
    ),
  ];
}
