import { sql } from 'drizzle-orm';
import type { HostMatch } from '../core/host';
import { connectDatabase } from '../db/client';
import { loadTenantRecordForHost } from '../db/snapshot-query';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import { compileSnapshot, type InstanceTarget, type TenantSnapshot } from './snapshot';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };
type TenantHostMatch = Extract<HostMatch, { kind: 'tenant' }>;
type CachedTenant = { snapshot: TenantSnapshot; checkedAt: number; refreshing: boolean };

const NEGATIVE_TTL_MS = 5_000;
// Until TenantGate serves versions, each isolate re-checks a warm tenant's version at most this often,
// in the background, so a warm request never waits on the database.
const VERSION_CHECK_MS = 1_000;
const MAX_HOSTS = 20_000;
const MAX_TENANTS = 10_000;

const hosts = new Map<string, { tenantId: string | null; expiresAt: number }>();
const tenants = new Map<string, CachedTenant>();

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number) {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/** Drops what this isolate knows of a tenant: the next request reloads it. Called after control writes. */
export function invalidateTenant(tenantId: string) {
  tenants.delete(tenantId);
  for (const [host, entry] of hosts) if (entry.tenantId === tenantId) hosts.delete(host);
}

/** The snapshot still claims this host (a moved domain or renamed slug must not keep routing here). */
function claimsHost(snapshot: TenantSnapshot, match: TenantHostMatch): boolean {
  return (
    snapshot.domains.has(match.host) || (match.label !== null && match.label.slug === snapshot.record.slug)
  );
}

async function loadForHost(env: Bindings, match: TenantHostMatch): Promise<TenantSnapshot | null> {
  const conn = await connectDatabase(env);
  try {
    const record = await loadTenantRecordForHost(conn.db, match.host, match.label?.slug ?? null);
    return record ? await compileSnapshot(record, env.SEALING_KEY) : null;
  } finally {
    await conn.close();
  }
}

function refreshInBackground(env: Bindings, ctx: WaitUntil, cached: CachedTenant) {
  cached.refreshing = true;
  const tenantId = cached.snapshot.record.id;
  const work = (async () => {
    const conn = await connectDatabase(env);
    try {
      const rows = await conn.db.execute<{ version: number }>(
        sql`select version from tenants where id = ${tenantId}`,
      );
      const version = rows.rows[0]?.version;
      if (version === undefined) invalidateTenant(tenantId);
      else if (Number(version) !== cached.snapshot.record.version) invalidateTenant(tenantId);
      else cached.checkedAt = Date.now();
    } finally {
      await conn.close();
    }
  })()
    // Postgres down: keep serving what we have and try again on a later request.
    .catch(() => {})
    .finally(() => {
      cached.refreshing = false;
    });
  ctx.waitUntil(work);
}

export type ResolvedTenant = { snapshot: TenantSnapshot; instance: InstanceTarget };

export async function resolveTenantFromHost(
  env: Bindings,
  ctx: WaitUntil,
  match: TenantHostMatch,
): Promise<ResolvedTenant> {
  const now = Date.now();
  const hostEntry = hosts.get(match.host);
  let snapshot: TenantSnapshot | null = null;
  if (hostEntry && hostEntry.expiresAt > now) {
    if (hostEntry.tenantId === null) throw unknownHost();
    const cached = tenants.get(hostEntry.tenantId);
    // A host routed to `public` by UNKNOWN_HOST=default is only remembered briefly, like an unknown one.
    if (cached && (claimsHost(cached.snapshot, match) || hostEntry.expiresAt !== Infinity)) {
      snapshot = cached.snapshot;
      if (now - cached.checkedAt > VERSION_CHECK_MS && !cached.refreshing)
        refreshInBackground(env, ctx, cached);
    }
  }
  if (!snapshot) {
    snapshot = await loadForHost(env, match);
    let expiresAt = Infinity;
    if (!snapshot && env.UNKNOWN_HOST === 'default') {
      snapshot = await loadForHost(env, {
        kind: 'tenant',
        host: '',
        label: { slug: 'public', instance: null },
      });
      expiresAt = now + NEGATIVE_TTL_MS;
    }
    remember(
      hosts,
      match.host,
      { tenantId: snapshot?.record.id ?? null, expiresAt: snapshot ? expiresAt : now + NEGATIVE_TTL_MS },
      MAX_HOSTS,
    );
    if (!snapshot) throw unknownHost();
    remember(tenants, snapshot.record.id, { snapshot, checkedAt: now, refreshing: false }, MAX_TENANTS);
  }
  const instanceName = snapshot.domains.has(match.host)
    ? (snapshot.domains.get(match.host) ?? snapshot.record.home_instance)
    : (match.label?.instance ?? snapshot.record.home_instance);
  const instance = instanceName ? snapshot.instances.get(instanceName) : undefined;
  if (!instance) throw unknownHost();
  return { snapshot, instance };
}

function unknownHost() {
  return new ApiError(404, 'unknown_host', 'No tenant is served at this host');
}
