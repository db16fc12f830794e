// Instance writes: create, change, rotate the signing secret, delete; the control API's and config apply's.
// Each runs in its own transaction (`runWrite`) with its audit row; a change that reaches the data plane bumps
// the version of every tenant placed on the instance and, once committed, tells the writer's `tenantChanged`
// of each.
import { eq } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { seal } from '../core/crypto/seal';
import { generateSecret } from '../core/crypto/secrets';
import { isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import type { Queryable, Transaction } from '../db/queryable';
import { instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { DEFAULT_TIMEOUT_MS, toInstanceJson } from './instance-schemas';
import { type MarkChanged, runWrite, type Writer } from './writer';

type InstanceRow = typeof instances.$inferSelect;

/** Upstream and hooks URLs already checked and normalised by the caller. */
export type InstanceFields = { upstreams?: string[]; timeoutMs?: number; hooksUrl?: string | null };

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
): Promise<{ row: InstanceRow; signingSecret: string }> {
  const signingSecret = generateSecret('whsec_', 40);
  const row = await runWrite(w, async (tx) => {
    const [created] = await tx
      .insert(instances)
      .values({
        id: newId('ins'),
        name: input.name,
        upstreams: input.upstreams ?? [],
        timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        hooksUrl: input.hooksUrl ?? null,
        signingSecretSealed: await seal(signingSecret, sealingKey),
      })
      .returning();
    await writeAudit(tx, w.by(), {
      tenantId: null,
      resource: 'instance',
      resourceId: created.id,
      action: 'create',
      after: toInstanceJson(created),
    });
    return created;
  }).catch(nameTaken);
  return { row, signingSecret };
}

/** Changes the fields given; every tenant placed on the instance sees it at once. */
export async function updateInstance(w: Writer, name: string, fields: InstanceFields): Promise<InstanceRow> {
  return changePlacedInstance(w, 'update', async (tx) => {
    const [before] = await tx.select().from(instances).where(eq(instances.name, name)).for('update');
    if (!before) throw noSuchInstance();
    const [after] = await tx
      .update(instances)
      .set({
        upstreams: fields.upstreams,
        timeoutMs: fields.timeoutMs,
        hooksUrl: fields.hooksUrl,
        updatedAt: new Date(),
      })
      .where(eq(instances.id, before.id))
      .returning();
    return { before, after };
  });
}

/** A new signing secret (sealed with `sealingKey`, returned to show once), used from the next request on. */
export async function rotateInstanceSecret(
  w: Writer,
  name: string,
  sealingKey: string,
): Promise<{ row: InstanceRow; signingSecret: string }> {
  const signingSecret = generateSecret('whsec_', 40);
  const sealed = await seal(signingSecret, sealingKey);
  const row = await changePlacedInstance(w, 'rotate', async (tx) => {
    const [after] = await tx
      .update(instances)
      .set({ signingSecretSealed: sealed, updatedAt: new Date() })
      .where(eq(instances.name, name))
      .returning();
    if (!after) throw noSuchInstance();
    return { after };
  });
  return { row, signingSecret };
}

/**
 * A change to an instance the data plane sees: `change` in a transaction, then the version bump of every
 * tenant placed on it and the audit row; after commit, `tenantChanged` for each of those tenants.
 */
async function changePlacedInstance(
  w: Writer,
  action: 'update' | 'rotate',
  change: (tx: Transaction) => Promise<{ before?: InstanceRow; after: InstanceRow }>,
): Promise<InstanceRow> {
  return runWrite(w, async (tx, changed) => {
    const { before, after } = await change(tx);
    await placedInstanceChanged(w, tx, changed, { action, before, after });
    return after;
  });
}

/** What follows a change the data plane sees, in its transaction: every placed tenant's bump, the audit row. */
export async function placedInstanceChanged(
  w: Writer,
  tx: Transaction,
  changed: MarkChanged,
  change: { action: 'update' | 'rotate' | 'reseal'; before?: InstanceRow; after: InstanceRow },
): Promise<void> {
  const { action, before, after } = change;
  const placed = await tx
    .select({ id: tenantInstances.tenantId })
    .from(tenantInstances)
    .where(eq(tenantInstances.instanceId, after.id));
  const ids = placed.map((p) => p.id);
  await bumpTenantVersions(tx, ids);
  for (const id of ids) changed(id);
  await writeAudit(tx, w.by(), {
    tenantId: null,
    resource: 'instance',
    resourceId: after.id,
    action,
    before: before && toInstanceJson(before),
    after: toInstanceJson(after),
  });
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
      before: toInstanceJson(before),
    });
  }).catch((err: unknown) => {
    // A tenant placed on it between the check and the delete.
    if (isForeignKeyViolation(err)) throw instanceInUse();
    throw err;
  });
}
