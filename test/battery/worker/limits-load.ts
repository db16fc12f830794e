// The battery's limit cases (limits-*.test.ts) drive load through these: one outcome per request, bursts,
// sequential loops until a time or a flag, and timed requests, through the gateway's first isolate (A, the
// test's own) unless `through: 'B'` sends them through its second (test/worker/isolates.ts). Split over
// files so each case group runs in a runtime of its own and their real-time waits overlap.
import { now } from '../../worker/clock';
import { codeOf, hit } from '../../worker/gate-helpers';
import { gatewayFetchB, type SeededTenant } from '../../worker/helpers';

export type Outcome = { status: number; code: string | null; rateLimit: string | null; sentAt: number };

export type HitOptions = Parameters<typeof hit>[2] & { through?: 'A' | 'B'; pauseMs?: number };

/** `hit`'s request to the tenant's host, through the isolate asked for. */
function send(t: SeededTenant, opts: HitOptions): Promise<Response> {
  if (opts.through !== 'B') return hit(t, '/x', opts);
  const key = opts.key === undefined ? t.key : opts.key;
  const headers = new Headers(opts.init?.headers);
  if (key !== null) headers.set('authorization', `Bearer ${key}`);
  return gatewayFetchB(`http://${t.slug}.localhost/x`, { ...opts.init, headers });
}

/** One request, its body read (so nothing is left open) and reduced to what the cases look at. */
export async function outcome(t: SeededTenant, opts: HitOptions = {}): Promise<Outcome> {
  const sentAt = now();
  const res = await send(t, opts);
  let code: string | null = null;
  if (res.status >= 400) code = await codeOf(res);
  else await res.body?.cancel();
  return { status: res.status, code, rateLimit: res.headers.get('ratelimit'), sentAt };
}

export function burst(n: number, t: SeededTenant, opts: HitOptions = {}): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: n }, () => outcome(t, opts)));
}

/** `n` requests one after another: for counting a budget without the round trips a burst at its end needs. */
export async function inSequence(n: number, t: SeededTenant, opts: HitOptions = {}): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n; i++) outcomes.push(await outcome(t, opts));
  return outcomes;
}

export const admitted = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 200).length;

/**
 * `loops` sequential request loops against `t` until `until` (a time, or a flag the test flips); `seen` fills
 * as answers arrive, for a test that acts on the load while it runs. `opts.pauseMs` paces each loop.
 */
export async function hammer(
  t: SeededTenant,
  loops: number,
  until: number | (() => boolean),
  seen: Outcome[] = [],
  opts: HitOptions = {},
): Promise<Outcome[]> {
  const done = typeof until === 'number' ? () => now() >= until : until;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (!done()) {
        seen.push(await outcome(t, opts));
        if (opts.pauseMs) await new Promise((next) => setTimeout(next, opts.pauseMs));
      }
    }),
  );
  return seen;
}

/** Seconds to the window's end from a `RateLimit: "minute";r=…;t=…` header. */
export function secondsLeft(rateLimit: string | null): number {
  const t = /;t=(\d+)$/.exec(rateLimit ?? '')?.[1];
  if (t === undefined) throw new Error(`no t= in RateLimit ${rateLimit}`);
  return Number(t);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export type Timed = Outcome & { tookMs: number };

/** Sequential requests of `t` for `forMs`, each with how long it took. */
export async function timed(t: SeededTenant, forMs: number): Promise<Timed[]> {
  const until = now() + forMs;
  const seen: Timed[] = [];
  while (now() < until) {
    const started = performance.now();
    const o = await outcome(t);
    seen.push({ ...o, tookMs: performance.now() - started });
  }
  return seen;
}
