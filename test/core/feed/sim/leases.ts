// A discrete-event simulation of one TenantGate and many isolates driving their wallets as src/edge/limit.ts
// does: one call in flight per isolate, joined by waiting requests, a 2 s timeout, a 3 s wait bound, a
// background call when and as refreshAt says. Real time is the gate's clock; each isolate's clock is off by up
// to ±500 ms. Calls take random time; some answers are lost or come after the timeout (the edge then drops
// them). Limits change in Postgres at random times; each isolate learns a new version within 1 s (the
// ChangeFeed) and drops its grants when the limits changed. test/core/limits/lease.property.test.ts drives it.
//
// Checked at every event:
// (1) per counter and window, admitted ≤ the largest limit in effect during [window start − 4.25 s, now]: a
//     call carries the limits of its request's snapshot, learnt ≤ 1 s late, waited on ≤ 3 s, sent ≤ 250 ms;
// (2a) after every gate call, 0 ≤ used − admitted ≤ tokens on grants not yet reported;
// (2b) every 429 has the right reason, is backed by a "remaining 0" answer for that counter and window whose
//      lease is still live, and its Retry-After does not end inside the window;
// (4) every grant carries the limit of the newest version that named its counter (older requests get it).
// At the end (./lease-audit): (2c) used = admitted + lost tokens, and the tail is exact; (3) nothing asked
// for before a drop is spent after it; (5) rejected requests spend nothing.
import { GateLedger } from '../../../../src/core/limits/gate-ledger';
import {
  type CounterSpec,
  countersFor,
  type LeaseRequest,
  type Limits,
} from '../../../../src/core/limits/lease';
import { LeaseWallet, type TakeResult } from '../../../../src/core/limits/lease-wallet';
import { type WindowKind, windowEnd, windowStart } from '../../../../src/core/limits/windows';
import { Scheduler, seeded } from './scheduler';

const START = Date.parse('2024-03-05T23:59:20Z'); // crosses two minute boundaries and UTC midnight
const [TIMEOUT_MS, MAX_WAIT_MS, BACKOFF_MS, LEARN_MS, SEND_MS] = [2000, 3000, 1000, 1000, 250];
// How old the limits a call carries can be: learnt within 1 s, a request waits up to 3 s, the call travels.
const SPEC_AGE_MS = LEARN_MS + MAX_WAIT_MS + SEND_MS;

export function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

export type LeaseScenario = {
  seed: number;
  isolates: number;
  durationMs: number;
  tenant: Limits;
  keys: Limits[];
  changes: number;
  lossRate: number;
  slowRate: number;
  burstiness: number;
};
type Version = { version: number; at: number; specs: Map<string, CounterSpec> };
type Waiting = { ids: string[]; specs: CounterSpec[]; version: number; deadline: number };
export type Iso = {
  id: string;
  wallet: LeaseWallet;
  skew: number;
  version: Version;
  call: { seq: number } | null;
  /** When the background call a timer waits for is due, in the isolate's clock (0: none). */
  refreshDueAt: number;
  failedAt: number;
  waiting: Waiting[];
  admitted: Map<string, number>;
  drops: { tick: number; admitted: Map<string, number> }[];
  zeros: { counter: string; windowStart: number; expiresAt: number }[];
};

export function runLeases(sc: LeaseScenario) {
  const rng = seeded(sc.seed);
  const s = new Scheduler(START);
  const gate = new GateLedger();
  const keyIds = sc.keys.map((_, i) => `key_${i}`);
  const specsOf = (tenant: Limits, keys: Limits[]) => {
    const all = countersFor(tenant, null, null);
    keys.forEach((k, i) => {
      all.push(...countersFor(null, keyIds[i]!, k));
    });
    return new Map(all.map((c) => [c.id, c]));
  };
  const versions: Version[] = [{ version: 1, at: -Infinity, specs: specsOf(sc.tenant, sc.keys) }];
  const kindOf = (id: string): WindowKind => versions[0]!.specs.get(id)!.kind;
  const limitAt = (v: number, id: string) => versions[v - 1]!.specs.get(id)!.limit;
  const maxLimitWithin = (id: string, from: number, to: number) => {
    let max = -1;
    versions.forEach((v, i) => {
      const next = versions[i + 1];
      if (v.at <= to && (!next || next.at > from)) max = Math.max(max, v.specs.get(id)!.limit);
    });
    return max;
  };
  let tick = 0;
  const isos: Iso[] = Array.from({ length: sc.isolates }, (_, i) => ({
    id: `iso${i}`,
    wallet: new LeaseWallet(`iso${i}`),
    skew: rng.int(-500, 500),
    version: versions[0]!,
    call: null,
    refreshDueAt: 0,
    failedAt: -Infinity,
    waiting: [],
    admitted: new Map(),
    drops: [],
    zeros: [],
  }));
  const admitted = new Map<string, number>();
  const lost = new Map<string, number>();
  const reported = new Map<string, number>(); // leaseId|counter → used
  const grantWindow = new Map<string, string>(); // leaseId|counter → counter@window
  const sentTick = new Map<string, number>(); // leaseId → tick of the send
  const namedVersion = new Map<string, number>();
  const stats = { admitted: 0, rejected: 0, gaveUp: 0, calls: 0, drops: 0 };
  const wkey = (id: string, at: number) => `${id}@${windowStart(kindOf(id), at)}`;
  const isoNow = (iso: Iso) => s.now + iso.skew;

  // Postgres: new versions, some with new limits; each isolate learns each within LEARN_MS.
  const original = [...versions[0]!.specs.values()];
  const times = Array.from({ length: sc.changes }, () => START + rng.int(0, sc.durationMs)).sort(
    (a, b) => a - b,
  );
  let prev = versions[0]!;
  for (const at of times) {
    const limits = rng.chance(0.5);
    const specs = new Map(
      original.map((o) => {
        const moved = limits && rng.chance(0.6);
        return [
          o.id,
          moved ? { ...o, limit: rng.int(0, Math.max(1, Math.floor(o.limit * 1.5))) } : prev.specs.get(o.id)!,
        ];
      }),
    );
    const v: Version = { version: prev.version + 1, at, specs };
    prev = v;
    s.at(at, () => versions.push(v));
    for (const iso of isos) s.at(at + rng.int(0, LEARN_MS), () => learn(iso, v));
  }
  const limitsKey = (v: Version) => JSON.stringify([...v.specs.values()].map((c) => c.limit));
  const learn = (iso: Iso, v: Version) => {
    if (v.version <= iso.version.version) return;
    // src/edge/limit.ts limiterFor: a limit change drops the wallet's grants; other changes keep them.
    if (limitsKey(v) !== limitsKey(iso.version)) {
      iso.wallet.dropGrants();
      iso.drops.push({ tick: ++tick, admitted: new Map(iso.admitted) });
      stats.drops += 1;
    }
    iso.version = v;
  };

  const checkGate = () => {
    const state = gate.snapshot();
    for (const [id, c] of Object.entries(state.counters)) {
      const k = `${id}@${c.windowStart}`;
      let outstanding = 0;
      for (const lease of Object.values(state.leases)) {
        const g = lease.grants[id];
        if (g?.windowStart === c.windowStart) outstanding += g.tokens;
      }
      const slack = c.used - (admitted.get(k) ?? 0);
      check(
        slack >= 0 && slack <= outstanding,
        () => `(2a) ${k}: used ${c.used}, outstanding ${outstanding}`,
      );
    }
  };

  const admit = (iso: Iso, ids: string[]) => {
    stats.admitted += 1;
    for (const id of ids) {
      const k = wkey(id, s.now);
      const n = (admitted.get(k) ?? 0) + 1;
      admitted.set(k, n);
      iso.admitted.set(id, (iso.admitted.get(id) ?? 0) + 1);
      const bound = maxLimitWithin(id, windowStart(kindOf(id), s.now) - SPEC_AGE_MS, s.now);
      check(n <= bound, () => `(1) ${k}: admitted ${n} > ${bound} at +${s.now - START} ms`);
    }
  };
  const reject = (iso: Iso, r: Extract<TakeResult, { counter: string }>) => {
    stats.rejected += 1;
    const kind = kindOf(r.counter);
    check(r.reason === (kind === 'day' ? 'quota_exceeded' : 'rate_limited'), () => `reason ${r.reason}`);
    const ws = windowStart(kind, s.now);
    const backed = iso.zeros.some(
      (z) => z.counter === r.counter && z.windowStart === ws && z.expiresAt > s.now,
    );
    check(backed, () => `(2b) unbacked 429 on ${r.counter} at +${s.now - START} ms`);
    check(s.now + r.retryAfter * 1000 >= windowEnd(kind, s.now), () => '(2b) Retry-After inside the window');
  };

  /** One pass of admit()'s loop for a request; false: it still needs a lease. */
  const decide = (iso: Iso, w: Waiting): boolean => {
    const r = iso.wallet.take(w.ids, isoNow(iso));
    if (r.ok) {
      admit(iso, w.ids);
      if (!iso.call) refreshAhead(iso, w);
      return true;
    }
    if (r.reason !== 'need_lease') reject(iso, r);
    else if (s.now >= w.deadline || s.now < iso.failedAt + BACKOFF_MS) stats.gaveUp += 1;
    else return false;
    return true;
  };
  // src/edge/limit.ts refreshAhead: a call now, or a timer for the moment the wallet names.
  const refreshAhead = (iso: Iso, w: Waiting) => {
    const at = iso.wallet.refreshAt(w.ids, isoNow(iso));
    if (at === null) return;
    if (at <= isoNow(iso)) return startCall(iso, w.specs, w.version);
    if (iso.refreshDueAt !== 0 && iso.refreshDueAt <= at) return;
    iso.refreshDueAt = at;
    s.after(at - isoNow(iso), () => {
      if (iso.refreshDueAt === at) iso.refreshDueAt = 0;
      if (!iso.call && iso.wallet.refreshAt(w.ids, isoNow(iso)) !== null) startCall(iso, w.specs, w.version);
    });
  };
  const settle = (iso: Iso, seq: number, ok: boolean) => {
    if (iso.call?.seq !== seq) return;
    iso.call = null;
    if (!ok) iso.failedAt = s.now;
    const waiting = iso.waiting;
    iso.waiting = [];
    for (const w of waiting) {
      if (!ok) stats.gaveUp += 1;
      else if (!decide(iso, w)) {
        iso.waiting.push(w);
        if (!iso.call) startCall(iso, w.specs, w.version);
      }
    }
  };
  const gateLease = (req: LeaseRequest) => {
    const resp = gate.lease(req, s.now);
    for (const r of req.reports) {
      const k = `${r.leaseId}|${r.counter}`;
      check(!reported.has(k) || reported.get(k) === r.used, () => `resent report ${k} changed`);
      reported.set(k, r.used);
    }
    for (const c of req.counters) namedVersion.set(c.id, Math.max(namedVersion.get(c.id) ?? 0, req.version));
    for (const g of resp.grants) {
      grantWindow.set(`${resp.leaseId}|${g.counter}`, `${g.counter}@${g.windowStart}`);
      const want = limitAt(namedVersion.get(g.counter)!, g.counter);
      check(g.limit === want, () => `(4) ${g.counter}: limit ${g.limit}, newest named ${want}`);
    }
    checkGate();
    return resp;
  };
  const deliver = (iso: Iso, resp: ReturnType<GateLedger['lease']>, sentAt: number) => {
    check(iso.wallet.accept(resp, isoNow(iso)), () => `answer ${resp.leaseId} refused`);
    for (const g of resp.grants) {
      if (g.remaining === 0)
        iso.zeros.push({ counter: g.counter, windowStart: g.windowStart, expiresAt: sentAt + g.ttlMs });
    }
  };
  // A call carries the version its specs came from (the request's snapshot), not the newest one the isolate
  // knows: the gate keeps the newest limit per counter, so specs of an older snapshot must say so.
  const startCall = (iso: Iso, specs: CounterSpec[], version: number) => {
    const req = iso.wallet.buildRequest(specs, version, isoNow(iso));
    const sentAt = s.now;
    stats.calls += 1;
    iso.call = { seq: req.seq };
    sentTick.set(`${iso.id}:${req.seq}`, ++tick);
    s.after(rng.chance(0.1) ? rng.int(50, SEND_MS) : rng.int(0, 40), () => {
      const resp = gateLease(req);
      const lose = () => {
        for (const g of resp.grants) {
          const k = `${g.counter}@${g.windowStart}`;
          lost.set(k, (lost.get(k) ?? 0) + g.tokens);
        }
      };
      if (rng.chance(sc.lossRate)) return lose();
      s.after(rng.chance(sc.slowRate) ? rng.int(200, 1900) : rng.int(0, 40), () => {
        // Past the timeout the edge drops the answer: its tokens stay counted, unspent, like a lost one.
        if (iso.call?.seq !== req.seq) return lose();
        deliver(iso, resp, sentAt);
        settle(iso, req.seq, true);
      });
    });
    s.after(TIMEOUT_MS, () => settle(iso, req.seq, false));
  };
  const arrive = (iso: Iso, key: string | null) => {
    const keyLimits = key === null ? null : sc.keys[keyIds.indexOf(key)]!;
    const ids = countersFor(sc.tenant, key, keyLimits).map((c) => c.id);
    if (ids.length === 0) return; // never calls a gate
    const specs = ids.map((id) => iso.version.specs.get(id)!);
    const w = { ids, specs, version: iso.version.version, deadline: s.now + MAX_WAIT_MS };
    if (decide(iso, w)) return;
    iso.waiting.push(w);
    if (!iso.call) startCall(iso, w.specs, w.version);
  };
  for (const iso of isos) {
    for (let b = rng.int(3, 30); b > 0; b--) {
      const at = START + rng.int(0, sc.durationMs);
      for (let r = rng.int(1, sc.burstiness); r > 0; r--) {
        const key = keyIds.length === 0 || rng.chance(0.3) ? null : rng.pick(keyIds);
        s.at(at + rng.int(0, 3), () => arrive(iso, key));
      }
    }
  }
  s.runSync();

  return {
    sc,
    s,
    gate,
    isos,
    admitted,
    lost,
    reported,
    grantWindow,
    sentTick,
    stats,
    kindOf,
    isoNow,
    admit,
    reject,
    gateLease,
    deliver,
  };
}
export type LeaseRun = ReturnType<typeof runLeases>;
