// The per-colo copy of tenant records (DESIGN.md, Architecture principle 2): after a change, every isolate of
// a colo reloads the tenant, and all but the first find it here, so Postgres sees one read per colo per
// change, not one per isolate. Keyed by tenant and version, so an entry is never stale: a newer version is
// another key. The record holds only what the snapshot query returns (key hashes, sealed signing secrets),
// in the worker's own named cache, which no request can reach.
import type { TenantRecord } from '../db/snapshot-query';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

const CACHE_NAME = 'gateway-tenant-records';
// Long enough to serve a colo's isolates after one change; a version is never changed in place.
const KEEP_SECONDS = 600;

const keyOf = (tenantId: string, version: number) =>
  `https://tenant-records.gateway.internal/${encodeURIComponent(tenantId)}/${version}`;

// The Cache API is missing where no cache is configured; the gateway then reads Postgres, as without it.
async function openCache(): Promise<Cache | null> {
  if (typeof caches === 'undefined') return null;
  return caches.open(CACHE_NAME).catch(() => null);
}

export async function readColoRecord(tenantId: string, version: number): Promise<TenantRecord | null> {
  const cache = await openCache();
  const hit = await cache?.match(keyOf(tenantId, version)).catch(() => undefined);
  if (!hit) return null;
  const record = (await hit.json().catch(() => null)) as TenantRecord | null;
  return record?.id === tenantId && record.version === version ? record : null;
}

/** Puts a record in the colo cache; never fails (a miss only means a read of Postgres). */
export async function putColoRecord(record: TenantRecord): Promise<void> {
  const response = new Response(JSON.stringify(record), {
    headers: { 'content-type': 'application/json', 'cache-control': `max-age=${KEEP_SECONDS}` },
  });
  const cache = await openCache();
  await cache?.put(keyOf(record.id, record.version), response).catch(() => {});
}

export function storeColoRecord(record: TenantRecord, ctx: WaitUntil): void {
  ctx.waitUntil(putColoRecord(record));
}
