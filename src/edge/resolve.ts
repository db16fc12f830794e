import type { TenantHostMatch } from '../core/http/host';
import { now as clockNow, waitMs } from '../core/time/clock';
import { withTimeout } from '../core/time/timeout';
import { connectDatabase } from '../db/client';
import { loadTenantRecordForHost } from '../db/snapshot-query';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import { readColoRecord, storeColoRecord } from './colo-cache';
import { isolateCursor } from './feed-cursor';
import { compileSnapshot, type InstanceTarget, type ServiceTarget, type TenantSnapshot } from './snapshot';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };
type HostEntry = { tenantId: string | null; expiresAt: number };

// Unknown hosts, and hosts routed to `public` by UNKNOWN_HOST=default, are remembered for `unknownHostTtl`.
const MAX_HOSTS = 20_000;
const MAX_TENANTS = 10_000;

const hosts = new Map<string, HostEntry>();
// Warm tenants never wait on Postgres: their changes arrive through the ChangeFeed (./freshness).
const tenants = new Map<string, TenantSnapshot>();
// Loads in flight by host: a burst of requests for one cold host makes one query. A load lives in the request
// that started it; if that request is cancelled it never settles, so joiners wait on their own timer and,
// past it, load for themselves (and the entry is replaced).
const loading = new Map<string, { promise: Promise<TenantSnapshot | null>; startedAt: number }>();
const LOAD_ABANDONED_AFTER_MS = 10_000;

class LoadAbandoned extends Error {}

// Counts invalidations, and the last of each tenant: a load that saw its tenant's (or, finding no tenant, any)
// happen while it ran does not cache what it read.
let invalidations = 0;
const invalidatedAt = new Map<string, number>();

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number) {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/**
 * Drops what this isolate knows of a tenant, so the next request reloads it. Called after every control
 * write. Unknown hosts are forgotten too: the change may be the domain or slug that makes one known.
 */
export function invalidateTenant(tenantId: string) {
  forget(tenantId, { keepHosts: false });
}

function forget(tenantId: string, opts: { keepHosts: boolean }) {
  remember(invalidatedAt, tenantId, ++invalidations, MAX_TENANTS);
  // A load begun before the change may return what it replaced: later requests must not join it.
  loading.clear();
  tenants.delete(tenantId);
  for (const [host, entry] of hosts) {
    if (entry.tenantId === null || (entry.tenantId === tenantId && !opts.keepHosts)) hosts.delete(host);
  }
}

/** The feed named version `version` of a tenant: a cached snapshot older than that is dropped. */
export function dropTenantBefore(tenantId: string, version: number) {
  const cached = tenants.get(tenantId);
  // Not cached: what it changed may still be a cached unknown host, or what a load in flight reads. The
  // tenant's hosts are kept, so its reload knows which tenant and version to look for in the colo cache.
  if (!cached || cached.record.version < version) forget(tenantId, { keepHosts: true });
}

/** An instance changed: every snapshot placed on it is dropped. */
export function dropInstance(instanceId: string) {
  for (const [tenantId, snapshot] of tenants) {
    if ([...snapshot.instances.values()].some((i) => i.id === instanceId)) invalidateTenant(tenantId);
  }
}

/** A revalidation is under way: loads in flight may have read what it replaces, so none is joined again. */
export function abandonLoadsInFlight() {
  loading.clear();
}

/** Every cached tenant and its snapshot's version, for a revalidation in one query (./freshness). */
export function cachedTenantVersions(): [string, number][] {
  return [...tenants].map(([id, snapshot]) => [id, snapshot.record.version]);
}

/** The snapshot still claims this host (a moved domain or renamed slug must not keep routing here). */
function claimsHost(snapshot: TenantSnapshot, match: TenantHostMatch): boolean {
  return (
    snapshot.domains.has(match.host) || (match.label !== null && match.label.slug === snapshot.record.slug)
  );
}

/**
 * The host's tenant: from the colo cache when the feed named the version this host's tenant is at, else from
 * Postgres (then stored in the colo cache for the colo's other isolates). With UNKNOWN_HOST=default an unknown
 * host gets the tenant `public`. One connection, one query each.
 */
async function loadForHost(
  env: Bindings,
  ctx: WaitUntil,
  match: TenantHostMatch,
): Promise<TenantSnapshot | null> {
  const known = hosts.get(match.host)?.tenantId;
  const version = known ? isolateCursor.namedVersion(known) : undefined;
  if (known && version !== undefined) {
    const record = await readColoRecord(known, version);
    const snapshot = record ? await compileSnapshot(record, env.SEALING_KEY) : null;
    if (snapshot && claimsHost(snapshot, match)) return snapshot;
  }
  const conn = await connectDatabase(env);
  try {
    let record = await loadTenantRecordForHost(conn.db, match.host, match.label?.slug ?? null);
    if (!record && env.UNKNOWN_HOST === 'default') {
      record = await loadTenantRecordForHost(conn.db, '', 'public');
    }
    if (record) storeColoRecord(record, ctx);
    return record ? await compileSnapshot(record, env.SEALING_KEY) : null;
  } finally {
    await conn.close();
  }
}

function cachedForHost(match: TenantHostMatch, now: number) {
  const entry = hosts.get(match.host);
  if (!entry || entry.expiresAt <= now) return undefined;
  if (entry.tenantId === null) throw unknownHost();
  const cached = tenants.get(entry.tenantId);
  // A host routed to `public` by UNKNOWN_HOST=default expires like an unknown one instead.
  if (!cached || (entry.expiresAt === Infinity && !claimsHost(cached, match))) return undefined;
  return cached;
}

// A load that reads an older version than the feed has named raced a change (it began before the commit):
// read again, this many times at most, rather than serve or cache what the change replaced.
const MAX_OUTDATED_READS = 3;

async function loadAndRemember(
  env: Bindings,
  ctx: WaitUntil,
  match: TenantHostMatch,
): Promise<TenantSnapshot | null> {
  const seen = invalidations;
  const gaps = isolateCursor.gaps;
  let snapshot = await loadForHost(env, ctx, match);
  for (
    let read = 1;
    snapshot && isolateCursor.isOutdated(snapshot.record.id, snapshot.record.version);
    read++
  ) {
    if (read === MAX_OUTDATED_READS) return snapshot;
    snapshot = await loadForHost(env, ctx, match);
  }
  // Read before a control write that has since answered (a revoked key, a moved domain): good for the
  // requests that were waiting on it, never for the cache.
  const changedAt = snapshot ? (invalidatedAt.get(snapshot.record.id) ?? 0) : invalidations;
  // Or across a revalidation (the feed could not say what changed meanwhile): not cached either.
  if (changedAt > seen || isolateCursor.gaps !== gaps) return snapshot;
  const now = clockNow();
  const found = snapshot !== null && claimsHost(snapshot, match);
  remember(
    hosts,
    match.host,
    { tenantId: snapshot?.record.id ?? null, expiresAt: found ? Infinity : now + waitMs('unknownHostTtl') },
    MAX_HOSTS,
  );
  if (snapshot) remember(tenants, snapshot.record.id, snapshot, MAX_TENANTS);
  return snapshot;
}

async function loadOnce(
  env: Bindings,
  ctx: WaitUntil,
  match: TenantHostMatch,
): Promise<TenantSnapshot | null> {
  const shared = loading.get(match.host);
  const age = shared ? clockNow() - shared.startedAt : Infinity;
  if (shared && age < LOAD_ABANDONED_AFTER_MS) {
    try {
      return await withTimeout(shared.promise, LOAD_ABANDONED_AFTER_MS - age, () => new LoadAbandoned());
    } catch (err) {
      if (!(err instanceof LoadAbandoned)) throw err;
    }
  }
  const promise = loadAndRemember(env, ctx, match).finally(() => {
    if (loading.get(match.host)?.promise === promise) loading.delete(match.host);
  });
  loading.set(match.host, { promise, startedAt: clockNow() });
  return promise;
}

export type ResolvedTenant = { snapshot: TenantSnapshot; instance: InstanceTarget; service: ServiceTarget };

/**
 * Host → tenant, instance and service (DESIGN.md "Host resolution" steps 3–6, Services); `404 unknown_host`
 * otherwise, also for a service the instance does not have. Two lookups in the snapshot's maps: the services
 * were compiled with it.
 */
export async function resolveTenantFromHost(
  env: Bindings,
  ctx: WaitUntil,
  match: TenantHostMatch,
): Promise<ResolvedTenant> {
  let snapshot = cachedForHost(match, clockNow());
  if (!snapshot) {
    snapshot = (await loadOnce(env, ctx, match)) ?? undefined;
    if (!snapshot) throw unknownHost();
  }
  const domain = snapshot.domains.get(match.host);
  const instanceName = instanceFor(snapshot, match, domain?.instance);
  const instance = instanceName ? snapshot.instances.get(instanceName) : undefined;
  const service = instance?.services.get(domain ? domain.service : match.service);
  if (!instance || !service) throw unknownHost();
  return { snapshot, instance, service };
}

// A custom domain names its instance or means the home one; `{label}.{instance}` must be a placement; a
// host routed to `public` by UNKNOWN_HOST=default goes to its home instance.
function instanceFor(
  snapshot: TenantSnapshot,
  match: TenantHostMatch,
  domainInstance: string | null | undefined,
): string | null {
  if (domainInstance !== undefined) return domainInstance ?? snapshot.record.home_instance;
  if (match.label?.slug === snapshot.record.slug)
    return match.label.instance ?? snapshot.record.home_instance;
  return snapshot.record.home_instance;
}

function unknownHost() {
  return new ApiError('unknown_host', 'No tenant is served at this host');
}
