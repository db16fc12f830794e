// Tenant writes shared by the control API and config apply. Each runs its whole sequence in one transaction
// (`runWrite`: a savepoint of config apply's when the writer's database is its transaction): the checks that
// need the database, the row, its placements and domains, the version bump, the outbox event and the audit
// row; after the commit the writer's `tenantChanged` (the data plane drops the cached tenant and kicks hook
// delivery).
import type { z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { schemaNameFor } from '../core/tenancy/slug';
import { writeTenantEvent } from '../db/events';
import { issueInstallToken } from '../db/install-tokens';
import { type TenantStatus, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions, type TenantView } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { type HeaderChange, nextInjectedHeaders } from './injected-headers';
import {
  conflicts,
  invalid,
  loadTenantView,
  replaceDomains,
  replacePlacements,
  resolvePlacements,
} from './tenant-placement';
import { type CreateTenant, tenantFields, type UpdateTenant, withTenantDefaults } from './tenant-schemas';
import { runWrite, type Writer } from './writer';

type InstallToken = Awaited<ReturnType<typeof issueInstallToken>>;

/** A new tenant: its fields as created (defaults for those left out), its slug checked, its domains canonical. */
export type NewTenant = Omit<
  z.infer<typeof CreateTenant>,
  'slug' | 'domains' | 'domain' | 'inject_headers'
> & {
  slug: string;
  /** Default `pending`; only a pending tenant gets an install token. */
  status?: TenantStatus;
  domains: string[];
  headers?: HeaderChange;
};

/**
 * A PUT's or PATCH's new values (undefined: left as they are); `domains`, when given, replace the tenant's;
 * `headers`, when given, change its injected headers. `upstream` URLs are checked by the caller.
 */
export type TenantChange = {
  fields: Omit<z.infer<typeof UpdateTenant>, 'domains' | 'domain' | 'inject_headers'>;
  domains?: string[];
  headers?: HeaderChange;
  action: 'update' | 'replace';
};

/**
 * Creates a tenant, pending unless `input.status` says otherwise; a pending one gets its install token.
 * Without `instance` its home is the instance with the most room; every placement must have room.
 */
export function createTenant(
  w: Writer,
  input: NewTenant,
): Promise<{ view: TenantView; token: InstallToken | null }> {
  return runWrite(w, async (tx, changed) => {
    const placements = await resolvePlacements(tx, input.instance, input.instances ?? []);
    const fields = withTenantDefaults(input);
    const [row] = await tx
      .insert(tenants)
      .values({
        id: newId('ten'),
        name: input.name,
        slug: input.slug,
        schemaName: schemaNameFor(input.slug),
        status: input.status ?? 'pending',
        homeInstanceId: placements.homeId,
        rateLimit: fields.rate_limit,
        auth: fields.auth,
        routes: fields.routes,
        limits: fields.limits,
        settings: fields.settings,
        upstream: fields.upstream,
        injectHeaders: input.headers ? await nextInjectedHeaders({}, input.headers) : {},
      })
      .returning();
    await tx
      .insert(tenantInstances)
      .values(placements.ids.map((instanceId) => ({ tenantId: row.id, instanceId })));
    await replaceDomains(tx, row.id, input.domains);
    const token = row.status === 'pending' ? await issueInstallToken(tx, row.id) : null;
    await writeTenantEvent(tx, 'tenant.created', row);
    const view = await loadTenantView(tx, row.id);
    await writeAudit(tx, w.by(), {
      tenantId: row.id,
      resource: 'tenant',
      resourceId: row.id,
      action: 'create',
      after: tenantFields(view),
    });
    changed(row.id);
    return { view, token };
  }).catch(conflicts);
}

/**
 * Writes a PUT or PATCH (or an apply's update) of tenant `tenantId`, its status too (a suspension writes
 * `tenant.suspended`); its view after.
 */
export function changeTenant(
  w: Writer,
  tenantId: string,
  { fields, domains, headers, action }: TenantChange,
): Promise<TenantView> {
  return runWrite(w, async (tx, changed) => {
    // Concurrent changes to one tenant queue here rather than interleave their placement and domain writes.
    await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
    const before = await loadTenantView(tx, tenantId);
    // Domains first: a PUT may drop a domain together with the placement it was pinned to.
    if (domains !== undefined) await replaceDomains(tx, tenantId, domains);
    const home = fields.instance ?? before.instance;
    let homeId = before.tenant.homeInstanceId;
    if (fields.instance !== undefined || fields.instances !== undefined) {
      if (home === null) throw invalid([{ path: 'instance', message: 'a home instance is required' }]);
      // Only a placement the tenant does not have yet needs room.
      const placements = await resolvePlacements(
        tx,
        home,
        fields.instances ?? before.instances,
        before.instances,
      );
      homeId = placements.homeId;
      await replacePlacements(tx, tenantId, placements.ids);
    }
    const injectHeaders = headers && (await nextInjectedHeaders(before.tenant.injectHeaders, headers));
    const [row] = await tx
      .update(tenants)
      .set({
        name: fields.name,
        status: fields.status,
        homeInstanceId: homeId,
        rateLimit: fields.rate_limit,
        auth: fields.auth,
        routes: fields.routes,
        limits: fields.limits,
        settings: fields.settings,
        upstream: fields.upstream,
        injectHeaders,
        version: sql`${tenants.version} + 1`,
        updatedAt: new Date(),
      })
      .where(eq(tenants.id, tenantId))
      .returning();
    const suspended = row.status === 'suspended' && before.tenant.status !== 'suspended';
    await writeTenantEvent(tx, suspended ? 'tenant.suspended' : 'tenant.updated', row);
    const after = await loadTenantView(tx, tenantId);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'tenant',
      resourceId: tenantId,
      action,
      before: tenantFields(before),
      after: tenantFields(after),
    });
    changed(tenantId);
    return after;
  }).catch(conflicts);
}

/** Deletes a tenant with its keys, domains and placements; never `public` (409). */
export function deleteTenant(w: Writer, tenantId: string): Promise<void> {
  return runWrite(w, async (tx, changed) => {
    const before = await loadTenantView(tx, tenantId);
    if (before.tenant.slug === 'public') {
      throw new ApiError('default_tenant_protected', 'The public tenant cannot be deleted');
    }
    await tx.delete(tenants).where(eq(tenants.id, tenantId));
    await writeTenantEvent(tx, 'tenant.deleted', before.tenant);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'tenant',
      resourceId: tenantId,
      action: 'delete',
      before: tenantFields(before),
    });
    changed(tenantId);
  });
}

/** A new install token for a pending tenant (any earlier one stops working); 409 once it is installed. */
export function reissueInstallToken(
  w: Writer,
  tenantId: string,
): Promise<{ token: InstallToken; view: TenantView }> {
  return runWrite(w, async (tx, changed) => {
    const [locked] = await tx.select().from(tenants).where(eq(tenants.id, tenantId)).for('update');
    if (!locked) throw new ApiError('not_found', 'No such tenant');
    if (locked.status !== 'pending') {
      throw new ApiError('conflict', `Tenant ${locked.slug} is already installed`);
    }
    const token = await issueInstallToken(tx, tenantId);
    await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'install_token',
      resourceId: tenantId,
      action: 'create',
      after: { expires_at: token.expiresAt.toISOString() },
    });
    changed(tenantId);
    return { token, view: await loadTenantView(tx, tenantId) };
  });
}
