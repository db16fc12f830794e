// What the tenant writes share: a tenant's view, its placements and domains, the install URL, and the API
// errors a failed tenant write answers.
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { normalizeHost } from '../core/http/host';
import { isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import type { Queryable } from '../db/queryable';
import { domains, instances, tenantInstances, tenants } from '../db/schema';
import { selectTenantViews } from '../db/tenants';
import type { Bindings } from '../env';
import { ApiError, type ErrorDetail } from '../errors';

export function invalid(details: ErrorDetail[]): ApiError {
  return new ApiError('validation_failed', 'The request is not valid', details);
}

/** A failed tenant write's database error as the API answers it; anything else is rethrown. */
export function conflicts(err: unknown): never {
  const constraint = uniqueViolation(err);
  if (constraint === 'tenants_slug_unique' || constraint === 'tenants_schemaName_unique') {
    throw new ApiError('slug_conflict', 'A tenant with this slug exists');
  }
  if (constraint === 'domains_pkey') throw new ApiError('conflict', 'A domain is already in use');
  if (constraint !== null) throw new ApiError('conflict', 'This conflicts with an existing resource');
  // An instance named in the request was deleted meanwhile.
  if (isForeignKeyViolation(err)) throw new ApiError('conflict', 'An instance changed meanwhile; try again');
  throw err;
}

/** The first base domain as configured (parseBaseDomains reorders by length). */
function firstBaseDomain(env: Bindings): string | null {
  for (const entry of (env.BASE_DOMAINS ?? '').split(',')) {
    const host = normalizeHost(entry.trim());
    if (host) return host;
  }
  return null;
}

/**
 * A page of the gateway's for the tenant (`path` under `/_gateway`): always on its gateway host
 * `{slug}.{instance}.{base}`, which works as soon as the wildcard DNS does (a custom domain may not point
 * here yet).
 */
export function gatewayPageUrl(env: Bindings, slug: string, instance: string | null, path: string) {
  const base = firstBaseDomain(env);
  if (!base) return null;
  return `https://${instance ? `${slug}.${instance}.${base}` : `${slug}.${base}`}${path}`;
}

/** Where a pending tenant installs itself. */
export function installUrl(env: Bindings, slug: string, instance: string | null): string | null {
  return gatewayPageUrl(env, slug, instance, '/_gateway/install');
}

export async function loadTenantView(db: Queryable, tenantId: string) {
  const [view] = await selectTenantViews(db).where(eq(tenants.id, tenantId));
  if (!view) throw new ApiError('not_found', 'No such tenant');
  return view;
}

/** Instance ids for a home name and placement names; 422 naming each unknown one. */
export async function resolvePlacements(db: Queryable, home: string, names: string[]) {
  const wanted = [...new Set([home, ...names])];
  const rows = await db
    .select({ id: instances.id, name: instances.name })
    .from(instances)
    .where(inArray(instances.name, wanted));
  const ids = new Map(rows.map((r) => [r.name, r.id]));
  const details: ErrorDetail[] = [];
  if (!ids.has(home)) details.push({ path: 'instance', message: `no instance named ${home}` });
  names.forEach((name, i) => {
    if (!ids.has(name)) details.push({ path: `instances.${i}`, message: `no instance named ${name}` });
  });
  if (details.length > 0) throw invalid(details);
  return { homeId: ids.get(home) as string, ids: [...ids.values()] };
}

/** Makes the tenant's domains exactly `hostnames`; existing ones keep the instance they name. */
export async function replaceDomains(db: Queryable, tenantId: string, hostnames: string[]) {
  await db
    .delete(domains)
    .where(
      hostnames.length > 0
        ? and(eq(domains.tenantId, tenantId), notInArray(domains.hostname, hostnames))
        : eq(domains.tenantId, tenantId),
    );
  const kept = await db
    .select({ hostname: domains.hostname })
    .from(domains)
    .where(eq(domains.tenantId, tenantId));
  const have = new Set(kept.map((d) => d.hostname));
  const added = hostnames.filter((h) => !have.has(h));
  if (added.length > 0) await db.insert(domains).values(added.map((hostname) => ({ hostname, tenantId })));
}

/** Makes the placements exactly `instanceIds`; 409 if a domain still names an instance being removed. */
export async function replacePlacements(db: Queryable, tenantId: string, instanceIds: string[]) {
  const [pinned] = await db
    .select({ hostname: domains.hostname })
    .from(domains)
    .where(and(eq(domains.tenantId, tenantId), notInArray(domains.instanceId, instanceIds)));
  if (pinned) {
    throw new ApiError('conflict', `Domain ${pinned.hostname} is served from an instance being removed`);
  }
  await db
    .delete(tenantInstances)
    .where(and(eq(tenantInstances.tenantId, tenantId), notInArray(tenantInstances.instanceId, instanceIds)));
  await db
    .insert(tenantInstances)
    .values(instanceIds.map((instanceId) => ({ tenantId, instanceId })))
    .onConflictDoNothing();
}
