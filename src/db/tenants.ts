import { inArray, sql } from 'drizzle-orm';
import type { Queryable } from './queryable';
import { tenants } from './schema';

// The subqueries name the outer table literally: drizzle renders a bare column name there, which the
// subquery's own tables could capture.
/** Tenants with the names of their home instance (and its services), placements and custom domains. */
export function selectTenantViews(db: Queryable) {
  return db
    .select({
      tenant: tenants,
      instance: sql<string | null>`(select i.name from instances i where i.id = tenants.home_instance_id)`,
      // The home instance's services besides `default`: the tenant's URLs are one per base domain of each.
      homeServices: sql<string[] | null>`(select coalesce((select json_agg(k order by k)
        from jsonb_object_keys(i.services) k), '[]'::json) from instances i where i.id = tenants.home_instance_id)`,
      instances: sql<string[]>`coalesce((select json_agg(i.name order by i.name) from tenant_instances ti
        join instances i on i.id = ti.instance_id where ti.tenant_id = tenants.id), '[]'::json)`,
      domains: sql<string[]>`coalesce((select json_agg(d.hostname order by d.hostname) from domains d
        where d.tenant_id = tenants.id), '[]'::json)`,
    })
    .from(tenants);
}

export type TenantView = Awaited<ReturnType<typeof selectTenantViews>>[number];

/** Every change that alters what the data plane decides for a tenant bumps its version. */
export async function bumpTenantVersions(db: Queryable, tenantIds: string[]) {
  if (tenantIds.length === 0) return;
  await db
    .update(tenants)
    .set({ version: sql`${tenants.version} + 1`, updatedAt: sql`now()` })
    .where(inArray(tenants.id, tenantIds));
}
