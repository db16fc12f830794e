// Instance writes: create, change, rotate the signing secret, delete; the control API's and config apply's.
// Each runs in its own transaction (`runWrite`) with its audit row; a change that reaches the data plane bumps
// the version of every tenant placed on the instance and, once committed, tells the writer's `tenantChanged`
// of each. Capacity (max_tenants, draining) is read by placements only, so changing it alone bumps no one.
import { eq } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { seal } from '../core/crypto/seal';
import { generateSecret } from '../core/crypto/secrets';
import { isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import { type InstanceView, selectInstanceViews } from '../db/instances';
import type { Queryable, Transaction } from '../db/queryable';
import { type InstanceServices, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { DEFAULT_TIMEOUT_MS, instanceFields } from './instance-schemas';
import { type MarkChanged, runWrite, type Writer } from './writer';

type InstanceRow = typeof instances.$inferSelect;

/** Upstream and hooks URLs (the services' too) already checked and normalised by the caller. */
export type InstanceFields = {
  upstreams?: string[];
  timeoutMs?: number;
  services?: InstanceServices;
  hooksUrl?: string | null;
  maxTenants?: number | null;
  draining?: boolean;
};

async function viewOf(tx: Transaction, row: InstanceRow): Promise<InstanceView> {
  const [view] = await selectInstanceViews(tx).where(eq(instances.id, row.id));
  return view;
}

export function instanceInUse() {
  return new ApiError('instance_in_use', 'Tenants are placed on this instance; move them first');
}

const noSuchInstance = () => new ApiError('not_found', 'No such instance');

function nameTaken(err: unknown): never {
  if (uniqueViolation(err) !== null) throw new ApiError('conflict', 'An instance with this name exists');
  throw err;
}

/** A new instance with a new signing secret (stored sealed with `sealingKey`, returned to show once). */
export async function createInstance(
  w: Writer,
  input: InstanceFields & { name: string },
  sealingKey: string,
): Promise<{ view: InstanceView; signingSecret: string }> {
  const signingSecret = generateSecret('whsec_', 40);
  const view = await runWrite(w, async (tx) => {
    const [created] = await tx
      .insert(instances)
      .values({
        id: newId('ins'),
        name: input.name,
        upstreams: input.upstreams ?? [],
        timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        services: input.services ?? {},
        hooksUrl: input.hooksUrl ?? null,
        signingSecretSealed: await seal(signingSecret, sealingKey),
        maxTenants: input.maxTenants ?? null,
        draining: input.draining ?? false,
      })
      .returning();
    await writeAudit(tx, w.by(), {
      tenantId: null,
      resource: 'instance',
      resourceId: created.id,
      action: 'create',
      after: instanceFields(created),
    });
    return { instance: created, tenantCount: 0 };
  }).catch(nameTaken);
  return { view, signingSecret };
}

/**
 * Changes the fields given; every tenant placed on the instance sees it at once. A change of capacity alone
 * is no change for the data plane: it is audited, and no placed tenant is bumped.
 */
export async function updateInstance(w: Writer, name: string, fields: InstanceFields): Promise<InstanceView> {
  const { maxTenants, draining, ...served } = fields;
  const reachesDataPlane = Object.values(served).some((v) => v !== undefined);
  return runWrite(w, async (tx, changed) => {
    const [before] = await tx.select().from(instances).where(eq(instances.name, name)).for('update');
    if (!before) throw noSuchInstance();
    const [after] = await tx
      .update(instances)
      .set({ ...served, maxTenants, draining, updatedAt: new Date() })
      .where(eq(instances.id, before.id))
      .returning();
    if (reachesDataPlane) await placedInstanceChanged(w, tx, changed, { action: 'update', before, after });
    else await auditInstance(w, tx, { action: 'update', before, after });
    return viewOf(tx, after);
  });
}

/** A new signing secret (sealed with `sealingKey`, returned to show once), used from the next request on. */
export async function rotateInstanceSecret(
  w: Writer,
  name: string,
  sealingKey: string,
): Promise<{ view: InstanceView; signingSecret: string }> {
  const signingSecret = generateSecret('whsec_', 40);
  const sealed = await seal(signingSecret, sealingKey);
  const view = await runWrite(w, async (tx, changed) => {
    const [after] = await tx
      .update(instances)
      .set({ signingSecretSealed: sealed, updatedAt: new Date() })
      .where(eq(instances.name, name))
      .returning();
    if (!after) throw noSuchInstance();
    await placedInstanceChanged(w, tx, changed, { action: 'rotate', after });
    return viewOf(tx, after);
  });
  return { view, signingSecret };
}

type InstanceChange = { action: 'update' | 'rotate' | 'reseal'; before?: InstanceRow; after: InstanceRow };

async function auditInstance(w: Writer, tx: Transaction, { action, before, after }: InstanceChange) {
  await writeAudit(tx, w.by(), {
    tenantId: null,
    resource: 'instance',
    resourceId: after.id,
    action,
    before: before && instanceFields(before),
    after: instanceFields(after),
  });
}

/** What follows a change the data plane sees, in its transaction: every placed tenant's bump, the audit row. */
export async function placedInstanceChanged(
  w: Writer,
  tx: Transaction,
  changed: MarkChanged,
  change: InstanceChange,
): Promise<void> {
  const placed = await tx
    .select({ id: tenantInstances.tenantId })
    .from(tenantInstances)
    .where(eq(tenantInstances.instanceId, change.after.id));
  const ids = placed.map((p) => p.id);
  await bumpTenantVersions(tx, ids);
  for (const id of ids) changed(id);
  await auditInstance(w, tx, change);
}

/** The slug of a tenant placed on the instance, if any is. */
export async function tenantPlacedOn(db: Queryable, instanceId: string): Promise<string | undefined> {
  const [placed] = await db
    .select({ slug: tenants.slug })
    .from(tenantInstances)
    .innerJoin(tenants, eq(tenants.id, tenantInstances.tenantId))
    .where(eq(tenantInstances.instanceId, instanceId))
    .limit(1);
  return placed?.slug;
}

/** Deletes an instance no tenant is placed on (`409 instance_in_use` otherwise). */
export async function deleteInstance(w: Writer, name: string): Promise<void> {
  await runWrite(w, async (tx) => {
    const [before] = await tx.select().from(instances).where(eq(instances.name, name)).for('update');
    if (!before) throw noSuchInstance();
    const [placed] = await tx
      .select({ id: tenants.id })
      .from(tenantInstances)
      .innerJoin(tenants, eq(tenants.id, tenantInstances.tenantId))
      .where(eq(tenantInstances.instanceId, before.id))
      .limit(1);
    if (placed) throw instanceInUse();
    await tx.delete(instances).where(eq(instances.id, before.id));
    await writeAudit(tx, w.by(), {
      tenantId: null,
      resource: 'instance',
      resourceId: before.id,
      action: 'delete',
      before: instanceFields(before),
    });
  }).catch((err: unknown) => {
    // A tenant placed on it between the check and the delete.
    if (isForeignKeyViolation(err)) throw instanceInUse();
    throw err;
  });
}
