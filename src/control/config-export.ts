// GET /v1/config: the current state as a configuration file, so that applying it changes nothing.
import { asc } from 'drizzle-orm';
import type { Database } from '../db/client';
import { instances, tenants } from '../db/schema';
import { selectTenantViews } from '../db/tenants';
import type { ConfigFile } from './config-schema';

/**
 * Every instance and tenant (`public` only once placed on an instance). Keys are left out: they are made
 * with a secret shown once, not configured; instance signing secrets are never part of a file, and injected
 * header values are `{set: true}`, which an apply of the export reads as "keep the stored value".
 */
export async function exportConfig(db: Database): Promise<ConfigFile> {
  const instanceRows = await db.select().from(instances).orderBy(asc(instances.name));
  const views = await selectTenantViews(db).orderBy(asc(tenants.slug));
  return {
    instances: instanceRows.map((row) => ({
      name: row.name,
      upstreams: row.upstreams,
      timeout_ms: row.timeoutMs,
      services: row.services,
      hooks_url: row.hooksUrl,
      max_tenants: row.maxTenants,
      draining: row.draining,
    })),
    tenants: views
      .filter((view) => view.instance !== null)
      .map(({ tenant, instance, instances: placements, domains }) => ({
        slug: tenant.slug,
        name: tenant.name,
        status: tenant.status,
        instance: instance as string,
        instances: placements,
        domains,
        rate_limit: tenant.rateLimit,
        auth: tenant.auth,
        routes: tenant.routes,
        limits: { on_stale: 'serve', mode: 'enforce', ...tenant.limits },
        settings: tenant.settings,
        upstream: tenant.upstream,
        inject_headers: Object.fromEntries(
          Object.keys(tenant.injectHeaders).map((name) => [name, { set: true as const }]),
        ),
      })),
  };
}
