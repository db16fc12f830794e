// Token leases between a limited tenant's TenantGate (one Durable Object, the consistency point) and the
// worker isolates (DESIGN.md, Architecture principle 2, "Limits"). A gate call per request would cost a
// Durable Object round trip each, so the gate hands each isolate leases of tokens and the isolate decides
// most requests locally. Pure logic: the gate ledger (./gate-ledger) and the isolate's wallet
// (./lease-wallet) share this wire format; the Durable Object and the edge are thin shells.
//
// Only a request that must spend from a counter (a tenant or key with `rate_limit`) takes part: tenants and
// keys without limits never call a gate.
//
// Correctness
// - Never over-admit: every admitted request spends a token the gate counted as used in the window it
//   stated; the gate never counts more than the limit (a grant is at most limit - used).
// - Skew: the gate sends a TTL, not a deadline. The isolate's expiry is its own clock when it SENT the
//   request + TTL, which in real time is no later than the gate's grant time + TTL, whatever the offset
//   between the two clocks. TTL = min(30 s, window end - now) at the gate, so a token is spent in the window
//   that counted it.
// - A grant is at most a quarter of what the window has left (minimum 1), so tokens stranded in an isolate
//   that vanished are bounded, and sized to the isolate's demand over the TTL, so a quiet tenant costs about
//   one call per isolate per lease.
// - Limits travel with the request: the isolate sends each counter's limit with the snapshot version it
//   came from, and the gate keeps the newest (a request under an older version gets the newer limit).
// - Refunds: the isolate reports `used` for every grant once it can no longer spend from it (expired,
//   empty, or dropped by a limit change) on its next call; the gate gives back `granted - used` if that
//   window is still current. Until reported, unused tokens stay counted.
import type { UsageDelta } from '../usage/usage-counts';
import type { WindowKind } from './windows';

export const LEASE_MAX_TTL_MS = 30_000;

export type Limits = { requests_per_minute: number | null; requests_per_day: number | null };
export type CounterSpec = { id: string; kind: WindowKind; limit: number };

/** The counters one request takes a token from (`tenant:minute`, `key:<id>:day`, …; null limits omitted). */
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

export function cleanLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

/** Tokens of `counter` the isolate spent from lease `leaseId`; sent once it can spend no more from it. */
export type Report = { leaseId: string; counter: string; used: number };
/** Usage an isolate of an earlier release sends with its calls (kept so a rolling deploy loses none). */
export type UsageBatch = { seq: number; days: UsageDelta };

export type LeaseRequest = {
  /** Random per isolate lifetime. */
  isolateId: string;
  /** Increases with every call of this isolate; the lease id is `${isolateId}:${seq}`. */
  seq: number;
  /** The tenant snapshot version the counters' limits come from. */
  version: number;
  /** Counters this isolate wants tokens for: their limits, and its observed demand (requests per second). */
  counters: (CounterSpec & { demandPerSecond: number })[];
  reports: Report[];
  usage?: UsageBatch | null;
};

export type Grant = {
  counter: string;
  kind: WindowKind;
  /** The window the tokens were counted in, by the gate's clock (the isolate never decides it). */
  windowStart: number;
  windowEnd: number;
  /** Window end minus the gate's now: the isolate's Retry-After and RateLimit reset. */
  resetMs: number;
  /** min(30 s, resetMs): tokens are spendable until the isolate's send time + ttlMs. */
  ttlMs: number;
  tokens: number;
  /** The limit the gate holds (newer than the isolate's when its snapshot is behind). */
  limit: number;
  /** What the gate had left after this grant; 0 means the isolate may answer 429 without asking. */
  remaining: number;
};

export type LeaseResponse = {
  leaseId: string;
  /** The newest snapshot version among the limits the gate holds for these counters. */
  version: number;
  grants: Grant[];
};
