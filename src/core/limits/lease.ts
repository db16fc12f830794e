// Token leases between a tenant's TenantGate (one Durable Object, the consistency point) and the worker
// isolates. A DO call per request would halve throughput, so the gate hands each isolate short leases of
// tokens and the isolate decides most requests locally. Pure logic; the DO and the edge are thin shells.
//
// API
//   countersFor(tenant, keyId, key)   the counters one request must take a token from (`tenant:minute`,
//                                     `tenant:day`, `key:<id>:minute`, `key:<id>:day`; null limits omitted)
//   GateLedger (inside the DO, state is plain JSON: `new GateLedger(stored)`, `snapshot()` to store)
//     setLimits(specs, version)       adopt a tenant snapshot's limits; ignored when older than the current
//     lease(request, nowMs)           refund reports, merge usage, grant tokens; the answer to an isolate
//     drainUsage() / addUsage(delta)  take usage out for a flush to Postgres / put it back if the flush fails
//   LeaseWallet (one per tenant per isolate, in memory)
//     take(counterIds, nowMs)         admit (one token from every counter) or say why not
//     needsRefresh(nowMs)             a lease call should start (in the background when take() still says ok)
//     buildRequest(nowMs)             the next LeaseRequest, carrying reports and usage
//     accept(response, nowMs)         adopt the gate's answer; idempotent, false for unknown or repeated ones
//     recordUsage(nowMs, counts)      count a finished request; shipped with the next lease call
//     version                         tenant snapshot version of the newest lease (null before the first)
//
// Edge pattern: r = take(); if r.reason === 'need_lease', await the isolate's single in-flight lease call
// (build, send, accept) and take() again; `rate_limited` / `quota_exceeded` answer 429 at once. A lease
// call that fails needs nothing: whatever it carried is sent again by the next one, and the gate ignores
// what it has already applied (reports delete their record, usage batches carry a sequence number).
// Near the end of a budget a lease may carry a single token, so a burst waits several round trips; every
// round trip admits at least one waiting request or turns into a 429, so bound the wait, not the attempts.
//
// DO shell duties: load limits (setLimits) before the first lease after a cold start, since counters the
// gate does not know are answered as unlimited; persist snapshot() before the answer leaves (the output
// gate makes that cheap), since a gate that forgets grants would grant them again.
//
// Correctness
// - Never over-admit: every admitted request spends a token the gate counted as used in the window it
//   stated; the gate never counts more than the limit (a grant is at most limit - used).
// - Skew: the gate sends a TTL, not a deadline. The isolate's expiry is its own clock when it SENT the
//   request + TTL, which in real time is no later than the gate's grant time + TTL, whatever the offset
//   between the two clocks. TTL = min(1000, window end - now) at the gate, so a token is spent in the
//   window that counted it, and grants made before a limit change or version bump are dead 1 s later.
// - Refunds: the isolate reports `used` for every grant once it can no longer spend from it (expired or
//   empty) on its next lease call; the gate gives back `granted - used` if that window is still current.
//   Until reported, unused tokens stay counted: they are lost only if the isolate never calls again.
import type { RateLimitPolicy } from './ratelimit-headers';
import { utcDate, type WindowKind, windowEnd, windowMs, windowStart } from './windows';

export const LEASE_TTL_MS = 1000;
// Start the next lease call this long before the version lease expires, so steady traffic never waits.
const REFRESH_AHEAD_MS = 250;
// A lease response this late is treated as lost; its reports are sent again anyway.
const INFLIGHT_GIVE_UP_MS = 30_000;
// The gate forgets an isolate's usage sequence after this idle time; isolates live far shorter.
const USAGE_SEQ_KEEP_MS = 3_600_000;
const DEMAND_BUCKET_MS = 1000;

// --- usage -------------------------------------------------------------------------------------------

export const USAGE_FIELDS = [
  'requests',
  'allowed',
  'rate_limited',
  'quota_exceeded',
  'unauthorized',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'bytes_in',
  'bytes_out',
] as const;
export type UsageCounts = Record<(typeof USAGE_FIELDS)[number], number>;
/** Usage by UTC date `YYYY-MM-DD`. */
export type UsageDelta = Record<string, UsageCounts>;

export function emptyUsage(): UsageCounts {
  return Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts;
}

export function mergeUsage(a: UsageDelta, b: UsageDelta): UsageDelta {
  const out: UsageDelta = {};
  for (const delta of [a, b]) {
    for (const [date, counts] of Object.entries(delta)) addCounts(out, date, counts);
  }
  return out;
}

function addCounts(into: UsageDelta, date: string, counts: Partial<UsageCounts>): void {
  let day = into[date];
  if (!day) {
    day = emptyUsage();
    into[date] = day;
  }
  for (const f of USAGE_FIELDS) day[f] += counts[f] ?? 0;
}

// --- counters ----------------------------------------------------------------------------------------

export type Limits = { requests_per_minute: number | null; requests_per_day: number | null };
export type CounterSpec = { id: string; kind: WindowKind; limit: number };

export function countersFor(tenant: Limits | null, keyId: string | null, key: Limits | null): CounterSpec[] {
  const specs: CounterSpec[] = [];
  const add = (prefix: string, limits: Limits | null) => {
    if (limits?.requests_per_minute != null) {
      specs.push({ id: `${prefix}:minute`, kind: 'minute', limit: cleanLimit(limits.requests_per_minute) });
    }
    if (limits?.requests_per_day != null) {
      specs.push({ id: `${prefix}:day`, kind: 'day', limit: cleanLimit(limits.requests_per_day) });
    }
  };
  add('tenant', tenant);
  if (keyId !== null) add(`key:${keyId}`, key);
  return specs;
}

function cleanLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

// --- wire format -------------------------------------------------------------------------------------

/** Tokens of `counter` the isolate spent from lease `leaseId`; sent once it can spend no more from it. */
export type Report = { leaseId: string; counter: string; used: number };
export type UsageBatch = { seq: number; days: UsageDelta };

export type LeaseRequest = {
  /** Random per isolate lifetime. */
  isolateId: string;
  /** Increases with every request of this isolate; the lease id is `${isolateId}:${seq}`. */
  seq: number;
  /** Counters this isolate wants tokens for, with its observed demand (requests per second). */
  counters: { id: string; demandPerSecond: number }[];
  reports: Report[];
  usage: UsageBatch | null;
};

export type Grant = {
  counter: string;
  kind: WindowKind;
  /** The window the tokens were counted in, by the gate's clock (the isolate never decides it). */
  windowStart: number;
  windowEnd: number;
  /** Window end minus the gate's now: the isolate's Retry-After and RateLimit reset. */
  resetMs: number;
  /** min(1000, resetMs): tokens are spendable until the isolate's send time + ttlMs. */
  ttlMs: number;
  tokens: number;
  limit: number;
  /** What the gate had left after this grant; 0 means the isolate may answer 429 without asking. */
  remaining: number;
};

export type LeaseResponse = {
  leaseId: string;
  /** Tenant snapshot version; valid for ttlMs from the isolate's send time. */
  version: number;
  ttlMs: number;
  grants: Grant[];
  /** Requested counters the gate has no limit for (its snapshot differs or the limit was removed). */
  unlimited: string[];
};

// --- gate side ---------------------------------------------------------------------------------------

type GrantRecord = { windowStart: number; windowEnd: number; expiresAt: number; tokens: number };

export type GateState = {
  version: number;
  specs: Record<string, { kind: WindowKind; limit: number }>;
  /** `used` = tokens granted in the window minus refunds. */
  counters: Record<string, { kind: WindowKind; windowStart: number; used: number }>;
  /** Grants not yet reported, by lease id, then counter id. */
  leases: Record<string, { isolateId: string; grants: Record<string, GrantRecord> }>;
  /** Usage not yet flushed to Postgres. */
  usage: UsageDelta;
  /** Last usage batch merged per isolate, so a resent batch is not counted twice. */
  usageSeq: Record<string, { seq: number; atMs: number }>;
};

export class GateLedger {
  private state: GateState;

  constructor(state?: GateState) {
    this.state = state
      ? structuredClone(state)
      : { version: 0, specs: {}, counters: {}, leases: {}, usage: {}, usageSeq: {} };
  }

  get version(): number {
    return this.state.version;
  }

  snapshot(): GateState {
    return structuredClone(this.state);
  }

  /**
   * Counters keep their used count: what was admitted stays admitted, new grants use the new limit, and a
   * limit below the used count leaves nothing for the rest of the window.
   */
  setLimits(specs: CounterSpec[], version: number): boolean {
    if (version < this.state.version) return false;
    this.state.version = version;
    this.state.specs = Object.fromEntries(
      specs.map((s) => [s.id, { kind: s.kind, limit: cleanLimit(s.limit) }]),
    );
    return true;
  }

  lease(req: LeaseRequest, nowMs: number): LeaseResponse {
    const s = this.state;
    this.collect(nowMs);
    for (const report of req.reports) this.refund(req.isolateId, report);
    if (req.usage) {
      const seen = s.usageSeq[req.isolateId];
      if (!seen || req.usage.seq > seen.seq) {
        s.usage = mergeUsage(s.usage, req.usage.days);
        s.usageSeq[req.isolateId] = { seq: req.usage.seq, atMs: nowMs };
      } else {
        seen.atMs = nowMs;
      }
    }

    const leaseId = `${req.isolateId}:${req.seq}`;
    const grants: Grant[] = [];
    const unlimited: string[] = [];
    for (const { id, demandPerSecond } of req.counters) {
      const spec = s.specs[id];
      if (!spec) {
        if (!unlimited.includes(id)) unlimited.push(id);
        continue;
      }
      if (grants.some((g) => g.counter === id)) continue;
      const counter = this.counter(id, spec.kind, nowMs);
      const end = windowEnd(spec.kind, nowMs);
      const ttlMs = Math.min(LEASE_TTL_MS, end - nowMs);
      const remaining = Math.max(0, spec.limit - counter.used);
      const demand = Number.isFinite(demandPerSecond) ? Math.max(0, demandPerSecond) : 0;
      const want = Math.max(1, Math.ceil((demand * ttlMs) / 1000));
      // Split what is left among the isolates holding it so the tail goes out one token at a time.
      const share = Math.max(1, Math.floor(remaining / (2 * this.holders(id, req.isolateId, nowMs))));
      const tokens = Math.min(remaining, want, share);
      counter.used += tokens;
      if (tokens > 0) {
        let lease = s.leases[leaseId];
        if (!lease) {
          lease = { isolateId: req.isolateId, grants: {} };
          s.leases[leaseId] = lease;
        }
        const prev = lease.grants[id];
        // The same request sent twice: its record holds both grants, and the one report the isolate will
        // send (it accepts one answer per lease id) refunds whatever it did not spend of either.
        const same = prev?.windowStart === counter.windowStart ? prev : undefined;
        lease.grants[id] = {
          windowStart: counter.windowStart,
          windowEnd: end,
          expiresAt: Math.max(same?.expiresAt ?? 0, nowMs + ttlMs),
          tokens: (same?.tokens ?? 0) + tokens,
        };
      }
      grants.push({
        counter: id,
        kind: spec.kind,
        windowStart: counter.windowStart,
        windowEnd: end,
        resetMs: end - nowMs,
        ttlMs,
        tokens,
        limit: spec.limit,
        remaining: Math.max(0, spec.limit - counter.used),
      });
    }
    return { leaseId, version: s.version, ttlMs: LEASE_TTL_MS, grants, unlimited };
  }

  drainUsage(): UsageDelta {
    const usage = this.state.usage;
    this.state.usage = {};
    return usage;
  }

  addUsage(delta: UsageDelta): void {
    this.state.usage = mergeUsage(this.state.usage, delta);
  }

  private counter(id: string, kind: WindowKind, nowMs: number) {
    const start = windowStart(kind, nowMs);
    let counter = this.state.counters[id];
    if (!counter || counter.windowStart !== start) {
      counter = { kind, windowStart: start, used: 0 };
      this.state.counters[id] = counter;
    }
    return counter;
  }

  /** Isolates holding a live grant on the counter, counting the requester. */
  private holders(counterId: string, isolateId: string, nowMs: number): number {
    const others = new Set<string>();
    for (const lease of Object.values(this.state.leases)) {
      const grant = lease.grants[counterId];
      if (grant && grant.expiresAt > nowMs && lease.isolateId !== isolateId) others.add(lease.isolateId);
    }
    return others.size + 1;
  }

  private refund(isolateId: string, report: Report): void {
    const lease = this.state.leases[report.leaseId];
    const grant = lease?.isolateId === isolateId ? lease.grants[report.counter] : undefined;
    if (!lease || !grant) return; // already applied, or its window is over
    delete lease.grants[report.counter];
    if (Object.keys(lease.grants).length === 0) delete this.state.leases[report.leaseId];
    const counter = this.state.counters[report.counter];
    if (counter?.windowStart !== grant.windowStart) return;
    const used = Number.isFinite(report.used)
      ? Math.min(grant.tokens, Math.max(0, Math.floor(report.used)))
      : 0;
    counter.used -= grant.tokens - used;
  }

  /** Drops what no longer matters: grants and counters of ended windows, long-idle usage sequences. */
  private collect(nowMs: number): void {
    const s = this.state;
    for (const [leaseId, lease] of Object.entries(s.leases)) {
      for (const [counterId, grant] of Object.entries(lease.grants)) {
        if (grant.windowEnd <= nowMs) delete lease.grants[counterId];
      }
      if (Object.keys(lease.grants).length === 0) delete s.leases[leaseId];
    }
    for (const [id, counter] of Object.entries(s.counters)) {
      if (counter.windowStart + windowMs(counter.kind) <= nowMs) delete s.counters[id];
    }
    for (const [isolateId, seen] of Object.entries(s.usageSeq)) {
      if (seen.atMs + USAGE_SEQ_KEEP_MS <= nowMs) delete s.usageSeq[isolateId];
    }
  }
}

// --- isolate side ------------------------------------------------------------------------------------

export type TakeResult =
  | { ok: true; policies: RateLimitPolicy[] }
  /** No valid lease, or this isolate ran out while the gate still has tokens: ask the gate, then retry. */
  | { ok: false; reason: 'need_lease' }
  /** The gate has none left either: answer 429 now. The day window wins when both are exhausted. */
  | {
      ok: false;
      reason: 'rate_limited' | 'quota_exceeded';
      counter: string;
      retryAfter: number;
      policies: RateLimitPolicy[];
    };

// All times below are the isolate's own clock.
type Held = { leaseId: string; counter: string; tokens: number; used: number; expiresAt: number };
type View = {
  kind: WindowKind;
  limit: number;
  remaining: number;
  expiresAt: number;
  resetAt: number;
  sentAt: number;
};
type Demand = { bucketStart: number; current: number; previous: number; pending: number };

export class LeaseWallet {
  private currentVersion: number | null = null;
  private versionExpiresAt = 0;
  private seq = 0;
  private held: Held[] = [];
  /** Grants that can no longer be spent from, waiting for a lease call to report them. */
  private closed: Report[] = [];
  /** The newest grant's view of each counter: limit, what the gate had left, when the window ends. */
  private views = new Map<string, View>();
  private unlimitedUntil = new Map<string, number>();
  private demand = new Map<string, Demand>();
  private inflight = new Map<string, { sentAt: number; reports: Report[]; usageSeq: number | null }>();
  private usage: UsageDelta = {};
  private unacked: UsageBatch | null = null;

  constructor(readonly isolateId: string) {}

  get version(): number | null {
    return this.currentVersion;
  }

  /** Usage recorded but not yet acknowledged by the gate: the edge must make a lease call for it. */
  get hasUnsentUsage(): boolean {
    return this.unacked !== null || Object.keys(this.usage).length > 0;
  }

  needsRefresh(nowMs: number): boolean {
    return this.currentVersion === null || nowMs >= this.versionExpiresAt - REFRESH_AHEAD_MS;
  }

  take(counterIds: string[], nowMs: number): TakeResult {
    const counters = [...new Set(counterIds)];
    this.close(nowMs);
    if (this.currentVersion === null || nowMs >= this.versionExpiresAt) {
      this.addPending(counters, nowMs);
      return { ok: false, reason: 'need_lease' };
    }
    const picks: Held[] = [];
    let exhausted: { counter: string; view: View } | null = null;
    let missing = false;
    for (const id of counters) {
      if ((this.unlimitedUntil.get(id) ?? 0) > nowMs) continue;
      const held = this.spendable(id, nowMs);
      if (held) {
        picks.push(held);
        continue;
      }
      const view = this.views.get(id);
      if (view && view.expiresAt > nowMs && view.remaining === 0) {
        if (!exhausted || view.resetAt > exhausted.view.resetAt) exhausted = { counter: id, view };
      } else {
        missing = true;
      }
    }
    if (exhausted) {
      this.countDemand(counters, nowMs);
      return {
        ok: false,
        reason: exhausted.view.kind === 'day' ? 'quota_exceeded' : 'rate_limited',
        counter: exhausted.counter,
        retryAfter: Math.max(1, Math.ceil((exhausted.view.resetAt - nowMs) / 1000)),
        policies: this.policies(counters, nowMs),
      };
    }
    if (missing) {
      this.addPending(counters, nowMs);
      return { ok: false, reason: 'need_lease' };
    }
    // Only now, with a token from every counter in hand, is anything spent.
    for (const held of picks) held.used += 1;
    this.countDemand(counters, nowMs);
    return { ok: true, policies: this.policies(counters, nowMs) };
  }

  buildRequest(nowMs: number): LeaseRequest {
    this.close(nowMs);
    this.collect(nowMs);
    this.seq += 1;
    const counters: LeaseRequest['counters'] = [];
    for (const [id, d] of this.demand) {
      const rate = this.rate(d, nowMs) + d.pending;
      d.pending = 0;
      if (rate > this.available(id, nowMs)) counters.push({ id, demandPerSecond: rate });
    }
    if (!this.unacked && Object.keys(this.usage).length > 0) {
      this.unacked = { seq: this.seq, days: this.usage };
      this.usage = {};
    }
    const reports = [...this.closed];
    const leaseId = `${this.isolateId}:${this.seq}`;
    this.inflight.set(leaseId, { sentAt: nowMs, reports, usageSeq: this.unacked?.seq ?? null });
    return { isolateId: this.isolateId, seq: this.seq, counters, reports, usage: this.unacked };
  }

  accept(resp: LeaseResponse, nowMs: number): boolean {
    const call = this.inflight.get(resp.leaseId);
    if (!call) return false;
    this.inflight.delete(resp.leaseId);
    const { sentAt } = call;
    const acked = new Set(call.reports);
    this.closed = this.closed.filter((r) => !acked.has(r));
    if (this.unacked && this.unacked.seq === call.usageSeq) this.unacked = null;

    // Answers may arrive out of order. Versions only grow at the gate, so the highest one seen is the
    // newest; an older answer can only extend validity when it carries that same version.
    if (this.currentVersion === null || resp.version > this.currentVersion) {
      // Tokens granted under an older snapshot are not spent once a newer one is known, so a lowered limit
      // holds at once in this isolate; they are reported with what was used and refunded.
      if (this.currentVersion !== null) {
        for (const h of this.held) this.closed.push({ leaseId: h.leaseId, counter: h.counter, used: h.used });
        this.held = [];
      }
      this.currentVersion = resp.version;
      this.versionExpiresAt = sentAt + resp.ttlMs;
    } else if (resp.version === this.currentVersion) {
      this.versionExpiresAt = Math.max(this.versionExpiresAt, sentAt + resp.ttlMs);
    }
    for (const g of resp.grants) {
      const expiresAt = sentAt + g.ttlMs;
      if (g.tokens > 0) {
        this.held.push({ leaseId: resp.leaseId, counter: g.counter, tokens: g.tokens, used: 0, expiresAt });
      }
      const view = this.views.get(g.counter);
      if (!view || sentAt >= view.sentAt) {
        // Received time, not send time: a Retry-After a few ms late is harmless, one early earns a 429.
        const resetAt = nowMs + g.resetMs;
        this.views.set(g.counter, {
          kind: g.kind,
          limit: g.limit,
          remaining: g.remaining,
          expiresAt,
          resetAt,
          sentAt,
        });
      }
    }
    for (const id of resp.unlimited) this.unlimitedUntil.set(id, sentAt + resp.ttlMs);
    return true;
  }

  recordUsage(nowMs: number, counts: Partial<UsageCounts>): void {
    addCounts(this.usage, utcDate(nowMs), counts);
  }

  /** The unexpired grant of a counter with tokens left that expires first, so fewer tokens lapse. */
  private spendable(counter: string, nowMs: number): Held | undefined {
    let best: Held | undefined;
    for (const h of this.held) {
      if (h.counter !== counter || h.used >= h.tokens || h.expiresAt <= nowMs) continue;
      if (!best || h.expiresAt < best.expiresAt) best = h;
    }
    return best;
  }

  private available(counter: string, nowMs: number): number {
    let n = 0;
    for (const h of this.held) if (h.counter === counter && h.expiresAt > nowMs) n += h.tokens - h.used;
    return n;
  }

  /** Per window kind, the counter with the fewest requests left: the one a client will hit first. */
  private policies(counters: string[], nowMs: number): RateLimitPolicy[] {
    const best = new Map<WindowKind, RateLimitPolicy>();
    for (const id of counters) {
      const view = this.views.get(id);
      if (!view || (this.unlimitedUntil.get(id) ?? 0) > nowMs) continue;
      const policy: RateLimitPolicy = {
        name: view.kind,
        limit: view.limit,
        remaining: view.remaining + this.available(id, nowMs),
        resetSeconds: Math.max(0, Math.ceil((view.resetAt - nowMs) / 1000)),
      };
      const current = best.get(view.kind);
      if (!current || policy.remaining < current.remaining) best.set(view.kind, policy);
    }
    return [...best.values()];
  }

  /** Moves expired and empty grants to the report queue: from here on they are never spent from. */
  private close(nowMs: number): void {
    if (!this.held.some((h) => h.expiresAt <= nowMs || h.used >= h.tokens)) return;
    const open: Held[] = [];
    for (const h of this.held) {
      if (h.expiresAt > nowMs && h.used < h.tokens) open.push(h);
      else this.closed.push({ leaseId: h.leaseId, counter: h.counter, used: h.used });
    }
    this.held = open;
  }

  private collect(nowMs: number): void {
    for (const [id, call] of this.inflight)
      if (call.sentAt + INFLIGHT_GIVE_UP_MS <= nowMs) this.inflight.delete(id);
    for (const [id, view] of this.views) if (view.resetAt <= nowMs) this.views.delete(id);
    for (const [id, until] of this.unlimitedUntil) if (until <= nowMs) this.unlimitedUntil.delete(id);
    for (const [id, d] of this.demand) {
      if (d.pending === 0 && this.rate(d, nowMs) === 0) this.demand.delete(id);
    }
  }

  private demandOf(counter: string, nowMs: number): Demand {
    let d = this.demand.get(counter);
    if (!d) {
      d = { bucketStart: nowMs, current: 0, previous: 0, pending: 0 };
      this.demand.set(counter, d);
    }
    return d;
  }

  private countDemand(counters: string[], nowMs: number): void {
    for (const id of counters) {
      const d = this.demandOf(id, nowMs);
      this.rate(d, nowMs);
      d.current += 1;
    }
  }

  /** Requests waiting for a lease: part of the demand the next lease call asks for, counted once. */
  private addPending(counters: string[], nowMs: number): void {
    for (const id of counters) this.demandOf(id, nowMs).pending += 1;
  }

  /** Sliding one-second rate from two fixed buckets; also rolls the buckets forward. */
  private rate(d: Demand, nowMs: number): number {
    const elapsed = nowMs - d.bucketStart;
    if (elapsed >= 2 * DEMAND_BUCKET_MS) {
      d.previous = 0;
      d.current = 0;
      d.bucketStart = nowMs;
    } else if (elapsed >= DEMAND_BUCKET_MS) {
      d.previous = d.current;
      d.current = 0;
      d.bucketStart += DEMAND_BUCKET_MS;
    } else if (elapsed < 0) {
      // The isolate clock stepped back: start over rather than weigh a bucket from the future.
      d.bucketStart = nowMs;
    }
    const weight = 1 - (nowMs - d.bucketStart) / DEMAND_BUCKET_MS;
    return d.previous * weight + d.current;
  }
}
