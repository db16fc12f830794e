// The isolate's side of a limited tenant's TenantGate (DESIGN.md "Data plane", "Limiter failure policy"):
// one LeaseWallet per limited tenant, one call in flight per tenant shared by every waiting request. A request
// that finds a spendable lease is decided without any call, and a tenant or key without `rate_limit` never
// calls a gate at all.

import type { CounterSpec } from '../core/limits/lease';
import { countersFor } from '../core/limits/lease';
import { LeaseWallet, type TakeResult } from '../core/limits/lease-wallet';
import { type RateLimitPolicy, rateLimitHeaders } from '../core/limits/ratelimit-headers';
import { now as clockNow, waitMs } from '../core/time/clock';
import { withTimeout } from '../core/time/timeout';
import type { TenantRecord } from '../db/snapshot-query';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import type { GateLeaseRequest, GateLeaseResponse } from '../gate/lease-wire';
import type { KeyEntry, TenantSnapshot } from './snapshot';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

// A call slower than this has failed: the failure policy decides. A cold gate answers from its own storage
// (it reads nothing), so the first call needs no longer than the others.
const LEASE_TIMEOUT_MS = 2_000;
// A call shared by concurrent requests lives in the request that made it: if that request is cancelled (its
// client went away), the call never settles, not even by its own timeout. Past that timeout and this grace
// it is taken as abandoned: joiners wait on their own timer, and the next attempt makes a new call.
const ABANDON_GRACE_MS = 500;
// Near the end of a budget a grant is one token (at most a quarter of what is left), so a burst is served one
// round trip per token: bound the wait by time, not attempts, with room for a few slow round trips.
const MAX_WAIT_MS = 5_000;
const MAX_LIMITERS = 10_000;
const NO_POLICIES: RateLimitPolicy[] = [];

/** What admit() decided: the RateLimit policies to answer with, and whether a shadow limit would refuse. */
export type Admission = { policies: RateLimitPolicy[]; wouldLimit: boolean };
const NOTHING_TO_SPEND: Admission = { policies: NO_POLICIES, wouldLimit: false };

class SharedCallAbandoned extends Error {}

type Limiter = {
  tenantId: string;
  wallet: LeaseWallet;
  /** The snapshot version the wallet's limits come from, and those limits (to see a limit change). */
  version: number;
  limits: string;
  inflight: Promise<void> | null;
  inflightUntil: number;
  failedAt: number;
  /** When the background call a timer waits for is due (0: none waits). */
  refreshDueAt: number;
};

export type GateClient = (env: Bindings, request: GateLeaseRequest) => Promise<GateLeaseResponse>;

// A gate's id, derived once per tenant (idFromName hashes the name: a few per cent of a call); ids are plain
// values, valid across requests. Bounded like the limiters.
const gateIds = new Map<string, DurableObjectId>();

function gateId(env: Bindings, tenantId: string): DurableObjectId {
  let id = gateIds.get(tenantId);
  if (!id) {
    if (gateIds.size >= MAX_LIMITERS) gateIds.clear();
    id = env.TENANT_GATE.idFromName(tenantId);
    gateIds.set(tenantId, id);
  }
  return id;
}

const gateStub: GateClient = (env, request) =>
  env.TENANT_GATE.get(gateId(env, request.tenantId)).lease(request) as Promise<GateLeaseResponse>;
let callGate = gateStub;

/** Tests only: how calls reach the gate (e.g. one that fails); without an argument, the real one. */
export function setGateClientForTests(client?: GateClient) {
  callGate = client ?? gateStub;
}

// Random values may not be made at startup (global scope): made with the first wallet.
let isolateId: string | undefined;
const limiters = new Map<string, Limiter>();

function limiterFor(snapshot: TenantSnapshot): Limiter {
  const { record } = snapshot;
  let limiter = limiters.get(record.id);
  if (!limiter) {
    if (limiters.size >= MAX_LIMITERS) forgetIdle();
    isolateId ??= crypto.randomUUID();
    limiter = {
      tenantId: record.id,
      wallet: new LeaseWallet(isolateId),
      version: record.version,
      limits: limitsOf(snapshot),
      inflight: null,
      inflightUntil: 0,
      failedAt: 0,
      refreshDueAt: 0,
    };
    limiters.set(record.id, limiter);
  } else if (record.version > limiter.version) {
    limiter.version = record.version;
    const limits = limitsOf(snapshot);
    // A limit change drops what was granted under the old limits (refunded on the next call); any other
    // change keeps the wallet.
    if (limits !== limiter.limits) limiter.wallet.dropGrants();
    limiter.limits = limits;
  }
  return limiter;
}

/** Drops wallets owing the gate nothing; their leases lapse and the gate refunds nothing, which is safe. */
function forgetIdle() {
  for (const [id, limiter] of limiters) {
    if (!liveInflight(limiter) && !limiter.wallet.owesReports) limiters.delete(id);
  }
}

const limitsOfSnapshot = new WeakMap<TenantSnapshot, string>();

/** Every limit of the tenant and its keys, as one string: equal strings, equal limits. */
function limitsOf(snapshot: TenantSnapshot): string {
  let limits = limitsOfSnapshot.get(snapshot);
  if (limits === undefined) {
    const keys = [...snapshot.keys.values()].filter((k) => k.rateLimit).map((k) => [k.id, k.rateLimit]);
    limits = JSON.stringify([snapshot.record.rate_limit, keys.sort()]);
    limitsOfSnapshot.set(snapshot, limits);
  }
  return limits;
}

type Counters = { specs: CounterSpec[]; ids: string[] };
const NO_COUNTERS: Counters = { specs: [], ids: [] };
const countersOf = new WeakMap<KeyEntry | TenantSnapshot, Counters>();

/** The counters a request spends a token from; a key's entry belongs to one snapshot, so it is cached. */
export function requestCounters(snapshot: TenantSnapshot, key: KeyEntry | null): Counters {
  if (!snapshot.record.rate_limit && !key?.rateLimit) return NO_COUNTERS;
  const owner = key ?? snapshot;
  let counters = countersOf.get(owner);
  if (!counters) {
    const specs = countersFor(snapshot.record.rate_limit, key?.id ?? null, key?.rateLimit ?? null);
    counters = { specs, ids: specs.map((c) => c.id) };
    countersOf.set(owner, counters);
  }
  return counters;
}

/**
 * Takes one token from every counter of the request; throws `429` or, per the failure policy,
 * `503 limiter_unavailable`. Returns the RateLimit policies (none without counters: no call is made).
 */
export async function admit(
  env: Bindings,
  ctx: WaitUntil,
  snapshot: TenantSnapshot,
  counters: Counters,
): Promise<Admission> {
  if (counters.ids.length === 0) return NOTHING_TO_SPEND;
  const { record } = snapshot;
  const limiter = limiterFor(snapshot);
  const deadline = clockNow() + MAX_WAIT_MS;
  for (;;) {
    const now = clockNow();
    const taken: TakeResult = limiter.wallet.take(counters.ids, now);
    if (taken.ok) {
      if (!liveInflight(limiter)) refreshAhead(env, ctx, limiter, counters, record.version, now);
      return { policies: taken.policies, wouldLimit: false };
    }
    if (taken.reason !== 'need_lease') {
      // Shadow mode: counted exactly as enforced (no token was spent, as none is for a refusal), but passed,
      // with the would-be RateLimit state.
      if (record.limits?.mode === 'shadow') return { policies: taken.policies, wouldLimit: true };
      throw limitedError(record, taken);
    }
    if (now >= deadline || now < limiter.failedAt + waitMs('gateFailureBackoff')) return onGateError(record);
    try {
      await leaseCall(env, ctx, limiter, counters.specs, record.version);
    } catch (err) {
      // Another request's call was abandoned, not failed: make one of our own while there is time.
      if (err instanceof SharedCallAbandoned && clockNow() < deadline) continue;
      return onGateError(record);
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

/**
 * A background call when the wallet says one is due: now, or at the moment it names (within a second),
 * from a timer in this request's waitUntil. One timer per limiter; when it fires, a call some request made
 * meanwhile has made it unnecessary.
 */
function refreshAhead(
  env: Bindings,
  ctx: WaitUntil,
  limiter: Limiter,
  counters: Counters,
  version: number,
  now: number,
) {
  const at = limiter.wallet.refreshAt(counters.ids, now);
  if (at === null) return;
  const call = () => leaseCall(env, ctx, limiter, counters.specs, version).catch(() => {});
  if (at <= now) {
    ctx.waitUntil(call());
    return;
  }
  if (limiter.refreshDueAt !== 0 && limiter.refreshDueAt <= at) return;
  limiter.refreshDueAt = at;
  ctx.waitUntil(
    new Promise((done) => setTimeout(done, at - now)).then(() => {
      if (limiter.refreshDueAt === at) limiter.refreshDueAt = 0;
      if (liveInflight(limiter) || limiter.wallet.refreshAt(counters.ids, clockNow()) === null) return;
      return call();
    }),
  );
}

function liveInflight(limiter: Limiter): Promise<void> | null {
  return limiter.inflight && clockNow() < limiter.inflightUntil ? limiter.inflight : null;
}

/** `specs` and `version` are the calling request's snapshot's: the gate adopts limits as of that version. */
function leaseCall(
  env: Bindings,
  ctx: WaitUntil,
  limiter: Limiter,
  specs: CounterSpec[],
  version: number,
): Promise<void> {
  const shared = liveInflight(limiter);
  if (shared) {
    return withTimeout(shared, limiter.inflightUntil - clockNow(), () => new SharedCallAbandoned());
  }
  const call: Promise<void> = (async () => {
    const request: GateLeaseRequest = {
      ...limiter.wallet.buildRequest(specs, version, clockNow()),
      tenantId: limiter.tenantId,
    };
    // An answer later than the timeout is still taken when it comes (the wallet takes each answer once): the
    // gate counted its tokens, and dropping them would leave them spent for the rest of the window.
    const accepted = callGate(env, request).then((response) => {
      limiter.wallet.accept(response, clockNow());
    });
    ctx.waitUntil(accepted.catch(() => {}));
    try {
      await withTimeout(accepted, LEASE_TIMEOUT_MS, () => new Error('Lease timed out'));
      limiter.failedAt = 0;
    } catch (err) {
      limiter.failedAt = clockNow();
      throw err;
    }
  })().finally(() => {
    if (limiter.inflight === call) limiter.inflight = null;
  });
  limiter.inflight = call;
  limiter.inflightUntil = clockNow() + LEASE_TIMEOUT_MS + ABANDON_GRACE_MS;
  return call;
}

function onGateError(record: TenantRecord): Admission {
  // The tenant chose availability: pass.
  if (record.limits?.on_gate_error === 'open') return NOTHING_TO_SPEND;
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
