// Gate calls of a limited tenant under steady traffic: isolates each sending `ratePerSecond` requests (± 20 %
// jitter) for `minutes`, driving their wallets as src/edge/limit.ts does (a request without a token waits for
// the isolate's one call; an admitted one starts a background call when and as refreshAt says). No losses:
// this counts what leases cost, test/core/feed/sim/leases.ts checks what they guarantee.
import { GateLedger } from '../../../../src/core/limits/gate-ledger';
import type { CounterSpec } from '../../../../src/core/limits/lease';
import { LeaseWallet } from '../../../../src/core/limits/lease-wallet';
import { Scheduler, seeded } from './scheduler';

export type SteadyScenario = {
  seed: number;
  isolates: number;
  minutes: number;
  ratePerSecond: number;
  specs: CounterSpec[];
  /** One way, gate ↔ isolate. */
  delayMs: number;
  /** Where in the minute the traffic starts. */
  offsetMs: number;
  /** Isolates start within this long of each other (default 1 s). */
  startSpreadMs?: number;
};

export type SteadyCounts = {
  requests: number;
  admitted: number;
  /** Requests that had to wait for a call (no token in hand). */
  waited: number;
  /** Gate calls per isolate, and per isolate per calendar minute. */
  calls: number[];
  perMinute: number[][];
  /** The most calls the gate took within one second (they bunch where leases end together). */
  busiestSecond: number;
};

const START = Date.parse('2024-03-05T10:00:00Z');

export function steadyGateCalls(sc: SteadyScenario): SteadyCounts {
  const rng = seeded(sc.seed);
  const s = new Scheduler(START + sc.offsetMs);
  const gate = new GateLedger();
  const ids = sc.specs.map((c) => c.id);
  const end = s.now + sc.minutes * 60_000;
  const counts: SteadyCounts = {
    requests: 0,
    admitted: 0,
    waited: 0,
    calls: Array(sc.isolates).fill(0),
    perMinute: Array.from({ length: sc.isolates }, () => Array(sc.minutes + 1).fill(0)),
    busiestSecond: 0,
  };
  const perSecond = new Map<number, number>();
  for (let i = 0; i < sc.isolates; i++) {
    const wallet = new LeaseWallet(`iso${i}`);
    let inflight = false;
    let waiting = 0;
    let refreshDueAt = 0;
    const call = () => {
      inflight = true;
      counts.calls[i]! += 1;
      counts.perMinute[i]![Math.floor((s.now - START - sc.offsetMs) / 60_000)]! += 1;
      const req = wallet.buildRequest(sc.specs, 1, s.now);
      s.after(sc.delayMs, () => {
        const resp = gate.lease(req, s.now);
        const second = Math.floor(s.now / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
        s.after(sc.delayMs, () => {
          wallet.accept(resp, s.now);
          inflight = false;
          const n = waiting;
          waiting = 0;
          for (let w = 0; w < n; w++) decide(false);
        });
      });
    };
    // src/edge/limit.ts refreshAhead: a call now, or a timer for the moment the wallet names.
    const refreshAhead = () => {
      const at = wallet.refreshAt(ids, s.now);
      if (at === null) return;
      if (at <= s.now) return call();
      if (refreshDueAt !== 0 && refreshDueAt <= at) return;
      refreshDueAt = at;
      s.after(at - s.now, () => {
        if (refreshDueAt === at) refreshDueAt = 0;
        if (!inflight && wallet.refreshAt(ids, s.now) !== null) call();
      });
    };
    const decide = (first: boolean) => {
      const r = wallet.take(ids, s.now);
      if (r.ok) {
        counts.admitted += 1;
        if (!inflight) refreshAhead();
        return;
      }
      if (r.reason !== 'need_lease') return;
      if (first) counts.waited += 1;
      waiting += 1;
      if (!inflight) call();
    };
    const arrive = () => {
      if (s.now >= end) return;
      counts.requests += 1;
      decide(true);
      s.after((1000 / sc.ratePerSecond) * (0.8 + 0.4 * rng.next()), arrive);
    };
    s.after(rng.int(0, sc.startSpreadMs ?? 1000), arrive);
  }
  s.runSync();
  counts.busiestSecond = Math.max(0, ...perSecond.values());
  return counts;
}
