// What the tenant writes share: a tenant's view, its placements (within the instances' capacity) and
// domains, and the API errors a failed tenant write answers.
import { and, asc, count, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { chooseInstance, type InstanceCapacity, refusedPlacement } from '../core/tenancy/placement';
import { isDeadlock, isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import type { Queryable, Transaction } from '../db/queryable';
import { domains, instances, tenantInstances, tenants } from '../db/schema';
import { selectTenantViews } from '../db/tenants';
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
  // Placements lock instance rows; two writes that lock them in opposite orders: one of them is told to retry.
  if (isDeadlock(err)) throw new ApiError('conflict', 'A concurrent change got in the way; try again');
  throw err;
}

export async function loadTenantView(db: Queryable, tenantId: string) {
  const [view] = await selectTenantViews(db).where(eq(tenants.id, tenantId));
  if (!view) throw new ApiError('not_found', 'No such tenant');
  return view;
}

type Capacity = InstanceCapacity & { id: string };

function instanceFull(message: string, path: string): ApiError {
  return new ApiError('instance_full', `No room: ${message}`, [{ path, message }]);
}

/**
 * Locks the rows of `ids` until commit and reads their capacity. An instance with `max_tenants` is locked for
 * update (in name order, so two writes never wait on each other in a circle) and its tenants are counted
 * after the lock: a placement made by a write that held the lock before is counted, so concurrent placements
 * never exceed it (the count is a statement of its own: one statement reads with the snapshot it began with,
 * from before the wait). An instance without a limit has nothing to count: it is locked for share, so
 * placements on it never wait on each other (every tenant created on one instance did), while a change of
 * the instance (a new limit, draining) still waits for them and they for it. One that got a limit between the
 * first read and the lock is locked for update after all (two such writes at once: one is told to retry).
 */
async function lockCapacity(tx: Transaction, ids: string[]): Promise<Capacity[]> {
  if (ids.length === 0) return [];
  const seen = await tx
    .select({ id: instances.id, maxTenants: instances.maxTenants })
    .from(instances)
    .where(inArray(instances.id, ids));
  const limited = seen.filter((r) => r.maxTenants !== null).map((r) => r.id);
  const unlimited = seen.filter((r) => r.maxTenants === null).map((r) => r.id);
  const locked = [
    ...(await lockInstances(tx, limited, 'update')),
    ...(await lockInstances(tx, unlimited, 'share')),
  ];
  const limitedSince = locked
    .filter((r) => r.maxTenants !== null && unlimited.includes(r.id))
    .map((r) => r.id);
  if (limitedSince.length > 0) await lockInstances(tx, limitedSince, 'update');
  const counted = locked.filter((r) => r.maxTenants !== null).map((r) => r.id);
  const counts =
    counted.length === 0
      ? []
      : await tx
          .select({ id: tenantInstances.instanceId, n: count() })
          .from(tenantInstances)
          .where(inArray(tenantInstances.instanceId, counted))
          .groupBy(tenantInstances.instanceId);
  const placed = new Map(counts.map((c) => [c.id, c.n]));
  return locked.map((r) => ({ ...r, tenantCount: placed.get(r.id) ?? 0 }));
}

function lockInstances(tx: Transaction, ids: string[], mode: 'update' | 'share') {
  if (ids.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: instances.id,
      name: instances.name,
      maxTenants: instances.maxTenants,
      draining: instances.draining,
    })
    .from(instances)
    .where(inArray(instances.id, ids))
    .orderBy(asc(instances.name))
    .for(mode);
}

/**
 * The home of a tenant created without one: the instance chosen by capacity (core/tenancy/placement),
 * locked; one whose last place a concurrent write took meanwhile is passed over for the next best.
 */
async function chooseHome(tx: Transaction): Promise<string> {
  const candidates = await tx
    .select({
      id: instances.id,
      name: instances.name,
      maxTenants: instances.maxTenants,
      draining: instances.draining,
      tenantCount: sql<number>`(select count(*)::int from tenant_instances ti where ti.instance_id = instances.id)`,
    })
    .from(instances)
    .where(eq(instances.draining, false));
  for (;;) {
    const name = chooseInstance(candidates);
    const chosen = candidates.find((c) => c.name === name);
    if (!chosen)
      throw instanceFull('no instance takes another tenant (each is full or draining)', 'instance');
    const [locked] = await lockCapacity(tx, [chosen.id]);
    if (locked && refusedPlacement(locked) === null) return chosen.id;
    candidates.splice(candidates.indexOf(chosen), 1);
  }
}

/**
 * Instance ids for a home name (none: chosen by capacity) and placement names; 422 naming each unknown one.
 * Each instance not in `placed` (names the tenant is placed on already) takes one more tenant or the write
 * is `409 instance_full`, and stays locked until commit.
 */
export async function resolvePlacements(
  tx: Transaction,
  home: string | undefined,
  names: string[],
  placed: readonly string[] = [],
) {
  const wanted = [...new Set([...(home === undefined ? [] : [home]), ...names])];
  const rows =
    wanted.length === 0
      ? []
      : await tx
          .select({ id: instances.id, name: instances.name })
          .from(instances)
          .where(inArray(instances.name, wanted));
  const ids = new Map(rows.map((r) => [r.name, r.id]));
  const details: ErrorDetail[] = [];
  if (home !== undefined && !ids.has(home))
    details.push({ path: 'instance', message: `no instance named ${home}` });
  names.forEach((name, i) => {
    if (!ids.has(name)) details.push({ path: `instances.${i}`, message: `no instance named ${name}` });
  });
  if (details.length > 0) throw invalid(details);
  const homeId = home === undefined ? await chooseHome(tx) : (ids.get(home) as string);
  // The new placements, each with where the request named it (an automatic home is locked and checked).
  const added = new Map<string, string>();
  const kept = new Set(placed);
  if (home !== undefined && !kept.has(home)) added.set(homeId, 'instance');
  names.forEach((name, i) => {
    const id = ids.get(name) as string;
    if (!kept.has(name) && id !== homeId && !added.has(id)) added.set(id, `instances.${i}`);
  });
  for (const capacity of await lockCapacity(tx, [...added.keys()])) {
    const refused = refusedPlacement(capacity);
    if (refused !== null) throw instanceFull(refused, added.get(capacity.id) as string);
  }
  return { homeId, ids: [...new Set([homeId, ...ids.values()])] };
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
