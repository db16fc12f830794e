import { sql } from 'drizzle-orm';
import type { Queryable } from './queryable';
import { instances } from './schema';

// The subquery names the outer table literally (see ./tenants.ts).
/** Instances with the number of tenants placed on each (home or not): what capacity counts. */
export function selectInstanceViews(db: Queryable) {
  return db
    .select({
      instance: instances,
      tenantCount: sql<number>`(select count(*)::int from tenant_instances ti where ti.instance_id = instances.id)`,
    })
    .from(instances);
}

export type InstanceView = Awaited<ReturnType<typeof selectInstanceViews>>[number];
