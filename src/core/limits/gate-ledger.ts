// The TenantGate's side of the leases (./lease): counters per window, grants not yet reported, the limits
// with the snapshot version that set them. Plain JSON state (`new GateLedger(stored)`, `stored()` to
// store): the Durable Object persists it before each answer leaves, since a gate that forgets grants would
// grant them again.
import { mergeUsage, type UsageDelta } from '../usage/usage-counts';
import {
  type CounterSpec,
  cleanLimit,
  type Grant,
  LEASE_MAX_TTL_MS,
  type LeaseRequest,
  type LeaseResponse,
  type Report,
} from './lease';
import { type WindowKind, windowEnd, windowMs, windowStart } from './windows';

// The gate forgets an isolate's usage sequence after this idle time; isolates live far shorter.
const USAGE_SEQ_KEEP_MS = 3_600_000;
// A grant is at most this share of what the window has left (minimum 1).
const GRANT_SHARE = 4;
// A grant covers the lease's life and a tenth more (at most 2 s) at the demand the isolate reports: traffic
// is uneven, and a lease that runs dry a second before it lapses costs a call.
const DEMAND_HEADROOM_MS = 2_000;

/** What {@link GateLedger.peek} tells of one counter. */
export type CounterState = {
  counter: string;
  kind: WindowKind;
  limit: number;
  used: number;
  resetMs: number;
};

type GrantRecord = { windowStart: number; windowEnd: number; expiresAt: number; tokens: number };

export type GateState = {
  /** Each counter's limit and the snapshot version it came from (0: stored by an earlier release). */
  specs: Record<string, { kind: WindowKind; limit: number; version?: number }>;
  /** `used` = tokens granted in the window minus refunds. */
  counters: Record<string, { kind: WindowKind; windowStart: number; used: number }>;
  /** Grants not yet reported, by lease id, then counter id. */
  leases: Record<string, { isolateId: string; grants: Record<string, GrantRecord> }>;
  /** Usage from isolates of an earlier release, not yet flushed to Postgres. */
  usage: UsageDelta;
  /** Last usage batch merged per isolate, so a resent batch is not counted twice. */
  usageSeq: Record<string, { seq: number; atMs: number }>;
};

function namesLimit(c: { kind?: unknown; limit?: unknown }): boolean {
  return (c.kind === 'minute' || c.kind === 'day') && typeof c.limit === 'number';
}

export class GateLedger {
  private state: GateState;

  /** Takes `state` over (storage hands out a fresh copy with every read): it is not copied again. */
  constructor(state?: GateState) {
    this.state = state ?? { specs: {}, counters: {}, leases: {}, usage: {}, usageSeq: {} };
  }

  /** A copy of the state, for reading. */
  snapshot(): GateState {
    return structuredClone(this.state);
  }

  /**
   * The state itself, to be stored at once: the storage's serializer copies it there and then, so a copy
   * here would only be made to be thrown away (a gate call is about a sixth cheaper without it).
   */
  stored(): Readonly<GateState> {
    return this.state;
  }

  /** Usage from isolates of an earlier release is waiting to be written. */
  holdsUsage(): boolean {
    for (const _ in this.state.usage) return true;
    return false;
  }

  lease(req: LeaseRequest, nowMs: number): LeaseResponse {
    this.collect(nowMs);
    for (const report of req.reports) this.refund(req.isolateId, report);
    if (req.usage) this.mergeUsage(req.isolateId, req.usage.seq, req.usage.days, nowMs);

    const leaseId = `${req.isolateId}:${req.seq}`;
    const grants: Grant[] = [];
    // An isolate of an earlier release names counters without their limits or a version: it is served from
    // the limits the gate holds, and never changes them (a counter of no kind would reset its window's count).
    const asOf = Number.isFinite(req.version) ? req.version : 0;
    let version = asOf;
    for (const asked of req.counters) {
      if (grants.some((g) => g.counter === asked.id)) continue;
      const spec = namesLimit(asked)
        ? this.adoptLimit(asked.id, asked.kind, asked.limit, asOf)
        : this.state.specs[asked.id];
      if (!spec) continue;
      version = Math.max(version, spec.version ?? 0);
      const counter = this.counter(asked.id, spec.kind, nowMs);
      const end = windowEnd(spec.kind, nowMs);
      const ttlMs = Math.min(LEASE_MAX_TTL_MS, end - nowMs);
      const remaining = Math.max(0, spec.limit - counter.used);
      const demand = Number.isFinite(asked.demandPerSecond) ? Math.max(0, asked.demandPerSecond) : 0;
      const coverMs = ttlMs + Math.min(DEMAND_HEADROOM_MS, ttlMs / 10);
      const want = Math.max(1, Math.ceil((demand * coverMs) / 1000));
      const tokens = Math.min(remaining, want, Math.max(1, Math.floor(remaining / GRANT_SHARE)));
      counter.used += tokens;
      if (tokens > 0)
        this.recordGrant(leaseId, req.isolateId, asked.id, counter.windowStart, end, nowMs + ttlMs, tokens);
      grants.push({
        counter: asked.id,
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
    return { leaseId, version, grants };
  }

  /**
   * Each counter's state now, spending nothing (the explain endpoint): `used` counts what the gate has
   * handed out in the current window (tokens still unspent in isolates' wallets included).
   */
  peek(specs: readonly CounterSpec[], nowMs: number): CounterState[] {
    return specs.map((spec) => {
      const counter = this.state.counters[spec.id];
      const start = windowStart(spec.kind, nowMs);
      const used = counter && counter.kind === spec.kind && counter.windowStart === start ? counter.used : 0;
      return {
        counter: spec.id,
        kind: spec.kind,
        limit: spec.limit,
        used: Math.min(used, spec.limit),
        resetMs: windowEnd(spec.kind, nowMs) - nowMs,
      };
    });
  }

  drainUsage(): UsageDelta {
    const usage = this.state.usage;
    this.state.usage = {};
    return usage;
  }

  addUsage(delta: UsageDelta): void {
    this.state.usage = mergeUsage(this.state.usage, delta);
  }

  /**
   * The limit as of the newest snapshot version that named it. Counters keep their used count: what was
   * admitted stays admitted, new grants use the new limit, and a limit below the used count leaves nothing
   * for the rest of the window.
   */
  private adoptLimit(id: string, kind: WindowKind, limit: number, version: number) {
    const known = this.state.specs[id];
    if (known && (known.version ?? 0) > version) return known;
    const spec = { kind, limit: cleanLimit(limit), version };
    this.state.specs[id] = spec;
    return spec;
  }

  private recordGrant(
    leaseId: string,
    isolateId: string,
    counterId: string,
    start: number,
    end: number,
    expiresAt: number,
    tokens: number,
  ) {
    let lease = this.state.leases[leaseId];
    if (!lease) {
      lease = { isolateId, grants: {} };
      this.state.leases[leaseId] = lease;
    }
    const prev = lease.grants[counterId];
    // The same request sent twice: its record holds both grants, and the one report the isolate will send
    // (it accepts one answer per lease id) refunds whatever it did not spend of either.
    const same = prev?.windowStart === start ? prev : undefined;
    lease.grants[counterId] = {
      windowStart: start,
      windowEnd: end,
      expiresAt: Math.max(same?.expiresAt ?? 0, expiresAt),
      tokens: (same?.tokens ?? 0) + tokens,
    };
  }

  private mergeUsage(isolateId: string, seq: number, days: UsageDelta, nowMs: number) {
    const seen = this.state.usageSeq[isolateId];
    if (!seen || seq > seen.seq) {
      this.state.usage = mergeUsage(this.state.usage, days);
      this.state.usageSeq[isolateId] = { seq, atMs: nowMs };
    } else {
      seen.atMs = nowMs;
    }
  }

  private counter(id: string, kind: WindowKind, nowMs: number) {
    const start = windowStart(kind, nowMs);
    let counter = this.state.counters[id];
    if (!counter || counter.windowStart !== start || counter.kind !== kind) {
      counter = { kind, windowStart: start, used: 0 };
      this.state.counters[id] = counter;
    }
    return counter;
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
