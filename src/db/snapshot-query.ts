import { type SQL, sql } from 'drizzle-orm';
import type { Database } from './client';
import type * as Column from './column-types';

/** Everything the data plane needs to decide for one tenant, as plain JSON (storable, sendable). */
export type TenantRecord = {
  id: string;
  slug: string;
  name: string;
  schema_name: string;
  status: Column.TenantStatus;
  version: number;
  rate_limit: Column.RateLimit | null;
  auth: Column.TenantAuth;
  routes: Column.TenantRoute[];
  limits: Column.TenantLimits;
  /** The tenant's own backend, in place of its instances' upstreams; null for theirs. */
  upstream: Column.TenantUpstream | null;
  /** Still sealed: opened once when the snapshot is compiled (edge/snapshot). */
  inject_headers: Column.SealedHeaders;
  home_instance: string | null;
  instances: {
    id: string;
    name: string;
    upstreams: string[];
    timeout_ms: number;
    /** Absent from records cached before services existed. */
    services?: Column.InstanceServices;
    signing_secret_sealed: string;
  }[];
  /** `service` null (or absent, cached before services existed): `default`. */
  domains: { hostname: string; instance: string | null; service?: string | null }[];
  /** Usable keys only: revoked and expired ones are left out. */
  keys: {
    id: string;
    hash: string;
    scopes: string[];
    expires_at: string | null;
    rate_limit: Column.RateLimit | null;
  }[];
};

function recordQuery(where: SQL): SQL {
  return sql`
    select json_build_object(
      'id', t.id, 'slug', t.slug, 'name', t.name, 'schema_name', t.schema_name, 'status', t.status,
      'version', t.version, 'rate_limit', t.rate_limit, 'auth', t.auth, 'routes', t.routes, 'limits', t.limits,
      'upstream', t.upstream, 'inject_headers', t.inject_headers,
      'home_instance', (select i.name from instances i where i.id = t.home_instance_id),
      'instances', coalesce((
        select json_agg(json_build_object('id', i.id, 'name', i.name, 'upstreams', i.upstreams,
          'timeout_ms', i.timeout_ms, 'services', i.services,
          'signing_secret_sealed', i.signing_secret_sealed) order by i.name)
        from tenant_instances ti join instances i on i.id = ti.instance_id where ti.tenant_id = t.id), '[]'::json),
      'domains', coalesce((
        select json_agg(json_build_object('hostname', d.hostname, 'service', d.service,
          'instance', (select i.name from instances i where i.id = d.instance_id)) order by d.hostname)
        from domains d where d.tenant_id = t.id), '[]'::json),
      'keys', coalesce((
        select json_agg(json_build_object('id', k.id, 'hash', k.key_hash, 'scopes', k.scopes,
          'expires_at', k.expires_at, 'rate_limit', k.rate_limit) order by k.id)
        from api_keys k
        where k.tenant_id = t.id and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())),
        '[]'::json)
    ) as record
    from tenants t where ${where}`;
}

async function first(db: Database, query: SQL): Promise<TenantRecord | null> {
  const result = await db.execute<{ record: TenantRecord }>(query);
  return result.rows[0]?.record ?? null;
}

/** One round trip: a custom domain named `host` wins, else the tenant whose slug is `slug`. */
export function loadTenantRecordForHost(db: Database, host: string, slug: string | null) {
  return first(
    db,
    recordQuery(sql`t.id = coalesce(
      (select d.tenant_id from domains d where d.hostname = ${host}),
      (select t2.id from tenants t2 where t2.slug = ${slug}))`),
  );
}

export function loadTenantRecordById(db: Database, tenantId: string) {
  return first(db, recordQuery(sql`t.id = ${tenantId}`));
}

/** The current version of each of `tenantIds` (a missing id was deleted): one query for a whole cache. */
export async function loadTenantVersions(db: Database, tenantIds: string[]): Promise<Map<string, number>> {
  if (tenantIds.length === 0) return new Map();
  const result = await db.execute<{ id: string; version: string | number }>(
    sql`select id, version from tenants where id = any(${sql.param(tenantIds)}::text[])`,
  );
  return new Map(result.rows.map((r) => [r.id, Number(r.version)]));
}
