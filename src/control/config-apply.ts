// Applies a configuration file in one transaction, with the resource APIs' own validation and writes:
// instances first (tenants name them), then tenants and their keys, then what `prune` removes. A dry run is
// the same transaction, rolled back, so it reports exactly what an apply would do, conflicts included.
import { asc, eq } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { seal } from '../core/crypto/seal';
import { generateSecret } from '../core/crypto/secrets';
import { changedFields } from '../core/tenancy/config-diff';
import { checkSlug } from '../core/tenancy/slug';
import type { Transaction } from '../db/queryable';
import { auditLog, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions, selectTenantViews, type TenantView } from '../db/tenants';
import { tenantChanged } from '../edge';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { inApplyTransaction } from '../tenancy/apply-transaction';
import { type AuditEntry, type Auditor, auditorOf, auditRow } from '../tenancy/audit';
import { installUrl } from '../tenancy/tenant-placement';
import { changeTenantIn, createTenantIn, deleteTenantIn, type TenantChange } from '../tenancy/tenants';
import { applyKeys } from './config-apply-keys';
import {
  type ApplyStep,
  type Ctx,
  checkFile,
  currentTenant,
  declaredTenant,
  invalid,
  type WantedInstance,
  type WantedTenant,
  within,
} from './config-check';
import type { ConfigChange, ConfigFile } from './config-schema';
import { toInstanceJson } from './instances';

class Applier implements ApplyStep {
  readonly changes: ConfigChange[] = [];
  readonly touched = new Set<string>();
  private readonly by: Auditor;

  constructor(
    readonly c: Ctx,
    readonly tx: Transaction,
    readonly prune: boolean,
  ) {
    this.by = auditorOf(c);
  }

  audit(entry: AuditEntry) {
    return this.tx.insert(auditLog).values(auditRow(this.by, entry));
  }

  async instances(wanted: WantedInstance[]) {
    const { tx } = this;
    const current = new Map((await tx.select().from(instances)).map((row) => [row.name, row]));
    for (const want of wanted) {
      const row = current.get(want.name);
      if (!row) {
        const signingSecret = generateSecret('whsec_', 40);
        const [created] = await tx
          .insert(instances)
          .values({
            id: newId('ins'),
            name: want.name,
            upstreams: want.upstreams,
            timeoutMs: want.timeout_ms,
            hooksUrl: want.hooks_url,
            signingSecretSealed: await seal(signingSecret, this.c.env.SEALING_KEY ?? ''),
          })
          .returning();
        await this.audit({
          tenantId: null,
          resource: 'instance',
          resourceId: created.id,
          action: 'create',
          after: toInstanceJson(created),
        });
        this.changes.push({
          kind: 'instance',
          name: want.name,
          action: 'create',
          signing_secret: signingSecret,
        });
        continue;
      }
      const json = toInstanceJson(row);
      const fields = changedFields(json, {
        upstreams: want.upstreams,
        timeout_ms: want.timeout_ms,
        hooks_url: want.hooks_url,
      });
      if (fields.length === 0) {
        this.changes.push({ kind: 'instance', name: want.name, action: 'unchanged' });
        continue;
      }
      const [updated] = await tx
        .update(instances)
        .set({
          upstreams: want.upstreams,
          timeoutMs: want.timeout_ms,
          hooksUrl: want.hooks_url,
          updatedAt: new Date(),
        })
        .where(eq(instances.id, row.id))
        .returning();
      const placed = await tx
        .select({ id: tenantInstances.tenantId })
        .from(tenantInstances)
        .where(eq(tenantInstances.instanceId, row.id));
      await bumpTenantVersions(
        tx,
        placed.map((p) => p.id),
      );
      for (const p of placed) this.touched.add(p.id);
      await this.audit({
        tenantId: null,
        resource: 'instance',
        resourceId: row.id,
        action: 'update',
        before: json,
        after: toInstanceJson(updated),
      });
      this.changes.push({ kind: 'instance', name: want.name, action: 'update', fields });
    }
  }

  async tenants(wanted: WantedTenant[]) {
    const views = new Map((await selectTenantViews(this.tx)).map((view) => [view.tenant.slug, view]));
    for (const want of wanted) {
      const view = views.get(want.slug);
      const tenantId = view ? await this.updateTenant(want, view) : await this.createTenant(want);
      if (want.body.keys) await applyKeys(this, want, tenantId);
    }
  }

  private async createTenant(want: WantedTenant): Promise<string> {
    const { body, slug, index } = want;
    const problem = checkSlug(slug);
    if (problem)
      throw new ApiError(problem.code, problem.message, [
        { path: `tenants.${index}.slug`, message: problem.message },
      ]);
    const declared = declaredTenant(want);
    const { view, token } = await within(`tenants.${index}`, () =>
      createTenantIn(this.tx, this.by, {
        ...declared,
        slug,
        status: declared.status ?? 'pending',
        instances: body.instances ?? [],
      }),
    );
    const id = view.tenant.id;
    this.touched.add(id);
    this.changes.push({
      kind: 'tenant',
      name: slug,
      action: 'create',
      ...(token
        ? { install_token: token.token, install_url: installUrl(this.c.env, slug, body.instance) }
        : {}),
    });
    return id;
  }

  private async updateTenant(want: WantedTenant, before: TenantView): Promise<string> {
    const { body, index } = want;
    const id = before.tenant.id;
    const declared = declaredTenant(want);
    const fields = changedFields(currentTenant(before), declared);
    if (fields.length === 0) {
      this.changes.push({ kind: 'tenant', name: want.slug, action: 'unchanged' });
      return id;
    }
    if (declared.status === 'pending') {
      throw invalid([
        { path: `tenants.${index}.status`, message: 'a tenant is pending only until it is installed' },
      ]);
    }
    const placed = fields.includes('instance') || fields.includes('instances');
    // Placements are written only when they change, domains too (the PUT's fields otherwise).
    const change: TenantChange = {
      fields: {
        ...declared,
        status: declared.status,
        ...(placed
          ? { instance: body.instance, instances: body.instances ?? [] }
          : { instance: undefined, instances: undefined }),
      },
      domains: fields.includes('domains') ? want.domains : undefined,
      action: 'replace',
    };
    await within(`tenants.${index}`, () => changeTenantIn(this.tx, this.by, id, change));
    this.touched.add(id);
    this.changes.push({ kind: 'tenant', name: want.slug, action: 'update', fields });
    return id;
  }

  /** Tenants the file does not name (never `public`), then instances. */
  async pruneUnnamed(wanted: { instances: WantedInstance[]; tenants: WantedTenant[] }) {
    const { tx } = this;
    const slugs = new Set(wanted.tenants.map((t) => t.slug));
    for (const before of await selectTenantViews(tx)) {
      const { tenant } = before;
      if (slugs.has(tenant.slug) || tenant.slug === 'public') continue;
      await deleteTenantIn(tx, this.by, tenant.id);
      this.touched.add(tenant.id);
      this.changes.push({ kind: 'tenant', name: tenant.slug, action: 'delete' });
    }
    const names = new Set(wanted.instances.map((i) => i.name));
    for (const row of await tx.select().from(instances).orderBy(asc(instances.name))) {
      if (names.has(row.name)) continue;
      const [placed] = await tx
        .select({ slug: tenants.slug })
        .from(tenantInstances)
        .innerJoin(tenants, eq(tenants.id, tenantInstances.tenantId))
        .where(eq(tenantInstances.instanceId, row.id))
        .limit(1);
      if (placed) {
        throw new ApiError(
          'instance_in_use',
          `Instance ${row.name} is not in the file but tenant ${placed.slug} is placed on it`,
        );
      }
      await tx.delete(instances).where(eq(instances.id, row.id));
      await this.audit({
        tenantId: null,
        resource: 'instance',
        resourceId: row.id,
        action: 'delete',
        before: toInstanceJson(row),
      });
      this.changes.push({ kind: 'instance', name: row.name, action: 'delete' });
    }
  }
}

const SECRET_FIELDS = ['signing_secret', 'secret', 'install_token', 'install_url'] as const;

/** Applies (or, with `dryRun`, only reports) `file`; the changes, each with any secret it made shown once. */
export async function applyConfig(
  c: Ctx,
  file: ConfigFile,
  opts: { dryRun: boolean; prune: boolean },
): Promise<ConfigChange[]> {
  const wanted = checkFile(c, file);
  let applier: Applier | undefined;
  await inApplyTransaction(await useDatabase(c), opts.dryRun, async (tx) => {
    applier = new Applier(c, tx, opts.prune);
    await applier.instances(wanted.instances);
    await applier.tenants(wanted.tenants);
    if (opts.prune) await applier.pruneUnnamed(wanted);
  });
  const done = applier as Applier;
  if (opts.dryRun) {
    // Secrets made inside the rolled-back transaction never existed.
    return done.changes.map((change) => {
      const copy = { ...change };
      for (const field of SECRET_FIELDS) delete copy[field];
      return copy;
    });
  }
  for (const tenantId of done.touched) tenantChanged(c, tenantId);
  return done.changes;
}
