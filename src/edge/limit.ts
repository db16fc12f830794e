// The isolate's side of the TenantGate (DESIGN.md "Data plane", "Limiter failure policy", "Usage"): one
// LeaseWallet per tenant, one lease call in flight per tenant shared by every waiting request, and usage
// shipped to the gate on those calls. A request that finds a valid lease is decided without any call.

import { countersFor, LeaseWallet, type TakeResult, type UsageCounts } from '../core/limits/lease';
import { type RateLimitPolicy, rateLimitHeaders } from '../core/limits/ratelimit-headers';
import { now as clockNow, waitMs } from '../core/time/clock';
import { withTimeout } from '../core/time/timeout';
import type { TenantRecord } from '../db/snapshot-query';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import type { GateLeaseRequest, GateLeaseResponse } from '../gate/lease-wire';
import { adoptTenantRecord, invalidateTenant } from './resolve';
import type { KeyEntry, TenantSnapshot } from './snapshot';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

// A lease call slower than this has failed: the failure policy decides.
const LEASE_TIMEOUT_MS = 2_000;
// This isolate's first call for a tenant may find its gate cold, reading the tenant from Postgres, whose
// connect alone may take 5 s (db/client): that call is given as long as the isolate's own read was, so a
// slow but working database does not turn a limited tenant's first requests into 503 limiter_unavailable.
const COLD_LEASE_TIMEOUT_MS = 7_000;
// A lease call shared by concurrent requests lives in the request that made it: if that request is cancelled
// (its client went away), the call never settles, not even by its own timeout. Past that timeout and this
// grace it is taken as abandoned: joiners wait on their own timer, so none hangs on it (the runtime would
// cancel them as hung), and the next attempt makes a new call.
const ABANDON_GRACE_MS = 500;

class SharedCallAbandoned extends Error {}
// Near the end of a budget grants go out one token per round trip: bound the wait by time, not attempts.
const MAX_WAIT_MS = 3_000;
// After a failed call the failure policy applies at once for `gateFailureBackoff` (core/time/clock), rather
// than every request waiting on a gate that is down.
// Usage is sent by the next lease call; when none has gone out for this long (traffic stopped), by a
// report of its own, so it is counted within seconds whatever the traffic does. Tied to the lease's 1 s
// life (a report waits for a quiet spell between lease calls), so it is not one of the scaled waits.
const REPORT_DELAY_MS = 1_000;
// A report waits at most this long for a quiet second, then goes anyway (its request's waitUntil is finite).
const REPORT_PATIENCE_MS = 10_000;
// A report not done this long after it was due died with its request: the next usage schedules another.
const REPORT_GIVE_UP_MS = 5_000;
const MAX_LIMITERS = 10_000;

type Limiter = {
  tenantId: string;
  wallet: LeaseWallet;
  /** The newest snapshot version this isolate has seen, from Postgres or from the gate. */
  knownVersion: number;
  /** The one lease call in flight; true when it brought a newer snapshot. */
  inflight: Promise<boolean> | null;
  /** When the call in flight is past its own timeout: abandoned, if it has not settled by then. */
  inflightUntil: number;
  failedAt: number;
  /** When the last lease call was sent. */
  sentAt: number;
  /** When the scheduled usage report is due; 0 when none is. */
  reportAt: number;
};

export type GateClient = (env: Bindings, request: GateLeaseRequest) => Promise<GateLeaseResponse>;

const gateStub: GateClient = (env, request) =>
  env.TENANT_GATE.get(env.TENANT_GATE.idFromName(request.tenantId)).lease(
    request,
  ) as Promise<GateLeaseResponse>;
let callGate = gateStub;

/** Tests only: how lease calls reach the gate (e.g. one that fails); without an argument, the real one. */
export function setGateClientForTests(client?: GateClient) {
  callGate = client ?? gateStub;
}

// Random values may not be made at startup (global scope): made with the first wallet.
let isolateId: string | undefined;
const limiters = new Map<string, Limiter>();

function limiterFor(tenantId: string): Limiter {
  let limiter = limiters.get(tenantId);
  if (!limiter) {
    if (limiters.size >= MAX_LIMITERS) forgetIdle();
    isolateId ??= crypto.randomUUID();
    limiter = {
      tenantId,
      wallet: new LeaseWallet(isolateId),
      knownVersion: 0,
      inflight: null,
      inflightUntil: 0,
      failedAt: 0,
      sentAt: 0,
      reportAt: 0,
    };
    limiters.set(tenantId, limiter);
  }
  return limiter;
}

/** Drops wallets with nothing owed to the gate; their leases lapse and the gate refunds nothing, which is safe. */
function forgetIdle() {
  for (const [id, limiter] of limiters) {
    if (!liveInflight(limiter) && !limiter.wallet.hasUnsentUsage) limiters.delete(id);
  }
}

const counterIdsOf = new WeakMap<KeyEntry | TenantSnapshot, string[]>();

/** The counters a request spends a token from; a key's entry belongs to one snapshot, so it is cached. */
export function counterIds(snapshot: TenantSnapshot, key: KeyEntry | null): string[] {
  const owner = key ?? snapshot;
  let ids = counterIdsOf.get(owner);
  if (!ids) {
    ids = countersFor(snapshot.record.rate_limit, key?.id ?? null, key?.rateLimit ?? null).map((c) => c.id);
    counterIdsOf.set(owner, ids);
  }
  return ids;
}

export const STALE = 'stale';

/**
 * Confirms the snapshot through the tenant's version lease (≤ 1 s old) and takes one token from every
 * counter; throws `429` or, per the failure policy, `503 limiter_unavailable`. Returns the RateLimit
 * policies, or STALE when the gate brought a newer snapshot: decide the request again on that one.
 */
export async function admit(
  env: Bindings,
  ctx: WaitUntil,
  snapshot: TenantSnapshot,
  counters: string[],
): Promise<RateLimitPolicy[] | typeof STALE> {
  const { record } = snapshot;
  const limiter = limiterFor(record.id);
  // Fresh from Postgres and newer than the gate's word (a change made here): the gate must catch up first.
  let catchUp = false;
  if (record.version > limiter.knownVersion) {
    limiter.knownVersion = record.version;
    catchUp = limiter.wallet.version !== null;
  }
  const deadline = clockNow() + MAX_WAIT_MS;
  for (;;) {
    const { wallet } = limiter;
    if (wallet.version !== null && wallet.version > record.version) return STALE;
    const now = clockNow();
    const taken: TakeResult = catchUp ? { ok: false, reason: 'need_lease' } : wallet.take(counters, now);
    if (taken.ok) {
      if (wallet.needsRefresh(now) && !liveInflight(limiter)) {
        ctx.waitUntil(leaseCall(env, limiter).catch(() => {}));
      }
      return taken.policies;
    }
    if (taken.reason !== 'need_lease') throw limitedError(record, taken);
    if (now >= deadline || now < limiter.failedAt + waitMs('gateFailureBackoff'))
      return onGateError(record, counters);
    catchUp = false;
    try {
      if (await leaseCall(env, limiter)) return STALE;
    } catch (err) {
      // Another request's call was abandoned, not failed: make one of our own while there is time.
      if (err instanceof SharedCallAbandoned && clockNow() < deadline) continue;
      return onGateError(record, counters);
    }
  }
}

/** Adds the RateLimit headers of an admitted request to its response. */
export function withRateLimitHeaders(response: Response, policies: RateLimitPolicy[]): Response {
  const headers = rateLimitHeaders(policies);
  if (headers) {
    response.headers.set('ratelimit-policy', headers['RateLimit-Policy']);
    response.headers.set('ratelimit', headers.RateLimit);
  }
  return response;
}

/** Counts a finished request (or part of it); reaches the gate on the next lease call, or ~1 s from now. */
export function recordUsage(env: Bindings, ctx: WaitUntil, tenantId: string, counts: Partial<UsageCounts>) {
  const limiter = limiterFor(tenantId);
  limiter.wallet.recordUsage(clockNow(), counts);
  scheduleReport(env, ctx, limiter);
}

function scheduleReport(env: Bindings, ctx: WaitUntil, limiter: Limiter) {
  const now = clockNow();
  if (limiter.reportAt !== 0 && now < limiter.reportAt + REPORT_GIVE_UP_MS) return;
  limiter.reportAt = now + REPORT_DELAY_MS;
  const patience = now + REPORT_PATIENCE_MS;
  ctx.waitUntil(
    (async () => {
      // Under steady traffic the lease calls carry the usage: wait for a second without one.
      for (;;) {
        await new Promise((done) => setTimeout(done, Math.max(0, limiter.reportAt - clockNow())));
        const quietAt = limiter.sentAt + REPORT_DELAY_MS;
        if (quietAt <= clockNow() || clockNow() >= patience) break;
        limiter.reportAt = quietAt;
      }
      limiter.reportAt = 0;
      if (!limiter.wallet.hasUnsentUsage) return;
      // Usage recorded from here on finds no report pending and schedules its own.
      const sent = await leaseCall(env, limiter).then(
        () => true,
        () => false,
      );
      if (!sent) scheduleReport(env, ctx, limiter);
    })(),
  );
}

function liveInflight(limiter: Limiter): Promise<boolean> | null {
  return limiter.inflight && clockNow() < limiter.inflightUntil ? limiter.inflight : null;
}

function leaseCall(env: Bindings, limiter: Limiter): Promise<boolean> {
  const shared = liveInflight(limiter);
  if (shared) {
    return withTimeout(shared, limiter.inflightUntil - clockNow(), () => new SharedCallAbandoned());
  }
  const timeoutMs = limiter.wallet.version === null ? COLD_LEASE_TIMEOUT_MS : LEASE_TIMEOUT_MS;
  const call: Promise<boolean> = (async () => {
    limiter.sentAt = clockNow();
    const request: GateLeaseRequest = {
      ...limiter.wallet.buildRequest(clockNow()),
      tenantId: limiter.tenantId,
      knownVersion: limiter.knownVersion,
    };
    let response: GateLeaseResponse;
    try {
      response = await withTimeout(callGate(env, request), timeoutMs, () => new Error('Lease timed out'));
    } catch (err) {
      limiter.failedAt = clockNow();
      throw err;
    }
    // The snapshot first: a wallet showing a version the cache does not have yet would send requests round.
    const newer = await adoptRecord(env, limiter, response.record);
    limiter.wallet.accept(response.lease, clockNow());
    limiter.failedAt = 0;
    return newer;
  })().finally(() => {
    if (limiter.inflight === call) limiter.inflight = null;
  });
  limiter.inflight = call;
  limiter.inflightUntil = clockNow() + timeoutMs + ABANDON_GRACE_MS;
  return call;
}

async function adoptRecord(env: Bindings, limiter: Limiter, record: TenantRecord | null | undefined) {
  if (record === undefined) return false;
  if (record === null) {
    // Deleted: the next resolution asks Postgres, which says the host is unknown.
    invalidateTenant(limiter.tenantId);
    return true;
  }
  if (record.version <= limiter.knownVersion) return false;
  await adoptTenantRecord(env, record);
  limiter.knownVersion = Math.max(limiter.knownVersion, record.version);
  return true;
}

function onGateError(record: TenantRecord, counters: string[]): RateLimitPolicy[] {
  // Nothing to limit, or the tenant chose availability: pass; the usage is sent with a later call.
  if (counters.length === 0 || record.limits?.on_gate_error === 'open') return [];
  throw new ApiError('limiter_unavailable', `The rate limiter of tenant ${record.slug} is unavailable`);
}

function limitedError(record: TenantRecord, taken: Extract<TakeResult, { counter: string }>): ApiError {
  const kind = taken.reason === 'quota_exceeded' ? 'day' : 'minute';
  const limit = taken.policies.find((p) => p.name === kind)?.limit;
  const who = taken.counter.startsWith('key:') ? 'This API key' : `Tenant ${record.slug}`;
  const message =
    kind === 'day'
      ? `${who} used its daily quota of ${limit} requests`
      : `${who} exceeded ${limit} requests per minute`;
  return new ApiError(taken.reason, message, undefined, {
    'retry-after': String(taken.retryAfter),
    ...rateLimitHeaders(taken.policies),
  });
}
