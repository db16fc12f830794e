// Applies a configuration file in one transaction, with the resource APIs' own validation and writes:
// instances first (tenants name them), then tenants and their keys, then what `prune` removes. A dry run is
// the same transaction, rolled back, so it reports exactly what an apply would do, conflicts included.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { newId } from '../core/crypto/ids';
import { seal } from '../core/crypto/seal';
import { generateSecret } from '../core/crypto/secrets';
import { changedFields, repeatedNames } from '../core/tenancy/config-diff';
import { checkSlug, slugify } from '../core/tenancy/slug';
import { createApiKey } from '../db/keys';
import type { Transaction } from '../db/queryable';
import { apiKeys, auditLog, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions, selectTenantViews, type TenantView } from '../db/tenants';
import { tenantChanged } from '../edge';
import type { AppEnv } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { useDatabase } from '../request-database';
import { type Auditor, auditorOf, auditRow } from '../tenancy/audit';
import { toKeyJson } from '../tenancy/key-schemas';
import { conflicts, installUrl } from '../tenancy/tenant-placement';
import { toTenantJson, withTenantDefaults } from '../tenancy/tenant-schemas';
import { changeTenantIn, createTenantIn, deleteTenantIn, type TenantChange } from '../tenancy/tenants';
import type { ConfigChange, ConfigFile, ConfigTenant } from './config-schema';
import { checkUrls, DEFAULT_TIMEOUT_MS, toInstanceJson } from './instances';
import { checkKeyLimit, futureExpiry } from './keys';
import { requestedDomains } from './tenants';

type Ctx = Context<AppEnv>;

class DryRun extends Error {}

function invalid(details: ErrorDetail[]): ApiError {
  return new ApiError('validation_failed', 'The configuration is not valid', details);
}

/** A resource API's 422 with its paths moved to where the object sits in the file. */
function located(prefix: string, err: unknown): unknown {
  if (!(err instanceof ApiError) || !err.details) return err;
  const details = err.details.map((d) => ({ ...d, path: `${prefix}.${d.path}` }));
  return new ApiError(err.code, 'The configuration is not valid', details, err.headers);
}

async function within<T>(prefix: string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    throw located(prefix, err);
  }
}

const sorted = (names: readonly string[]) => [...names].sort();

type WantedInstance = { name: string; upstreams: string[]; timeout_ms: number; hooks_url: string | null };
type WantedTenant = { index: number; slug: string; body: ConfigTenant; domains: string[] };

/** Everything that can be checked without the database; every problem at once, with its path in the file. */
function checkFile(c: Ctx, file: ConfigFile): { instances: WantedInstance[]; tenants: WantedTenant[] } {
  const details: ErrorDetail[] = [];
  const collect = <T>(prefix: string, check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      const moved = located(prefix, err);
      if (moved instanceof ApiError && moved.status === 422 && moved.details) details.push(...moved.details);
      else throw moved;
    }
  };
  const wantedInstances = file.instances.map((inst, i) => {
    const urls = collect(`instances.${i}`, () => checkUrls(c, inst));
    return {
      name: inst.name,
      upstreams: urls?.upstreams ?? [],
      timeout_ms: inst.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      hooks_url: urls?.hooksUrl ?? null,
    };
  });
  for (const { index, name } of repeatedNames(file.instances.map((i) => i.name))) {
    details.push({ path: `instances.${index}.name`, message: `instance ${name} is declared twice` });
  }
  const wantedTenants = file.tenants.map((body, index) => {
    const slug = slugify(body.slug ?? body.name);
    const domains = collect(`tenants.${index}`, () => requestedDomains(c, body)) ?? [];
    for (const repeat of repeatedNames((body.keys ?? []).map((k) => k.name))) {
      details.push({
        path: `tenants.${index}.keys.${repeat.index}.name`,
        message: `key ${repeat.name} is declared twice`,
      });
    }
    return { index, slug, body, domains: sorted(domains) };
  });
  for (const { index, name } of repeatedNames(wantedTenants.map((t) => t.slug))) {
    details.push({ path: `tenants.${index}.slug`, message: `tenant ${name} is declared twice` });
  }
  if (details.length > 0) throw invalid(details);
  return { instances: wantedInstances, tenants: wantedTenants };
}

/** The tenant fields a file declares, in the shape of the tenant's JSON. */
function declaredTenant(want: WantedTenant) {
  const { body } = want;
  const { rate_limit, auth, routes, limits, settings } = withTenantDefaults(body);
  return {
    name: body.name,
    status: body.status,
    instance: body.instance,
    instances: sorted([...new Set([body.instance, ...(body.instances ?? [])])]),
    domains: want.domains,
    ...{ rate_limit, auth, routes, limits, settings },
  };
}

function currentTenant(view: TenantView) {
  const json = toTenantJson(view);
  return { ...json, instances: sorted(json.instances), domains: sorted(json.domains) };
}

class Applier {
  readonly changes: ConfigChange[] = [];
  readonly touched = new Set<string>();
  private readonly by: Auditor;

  constructor(
    private readonly c: Ctx,
    private readonly tx: Transaction,
    private readonly prune: boolean,
  ) {
    this.by = auditorOf(c);
  }

  private audit(entry: Parameters<typeof auditRow>[1]) {
    return this.tx.insert(auditLog).values(auditRow(this.c, entry));
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
      if (want.body.keys) await this.keys(want, tenantId);
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

  /** Declared keys exist with the declared scopes and limits; with prune, the tenant's other live keys are revoked. */
  private async keys(want: WantedTenant, tenantId: string) {
    const { tx } = this;
    const declared = want.body.keys ?? [];
    const live = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
    const byName = new Map<string, (typeof live)[number]>();
    for (const key of live) if (!byName.has(key.name)) byName.set(key.name, key);
    const tenantLimit = want.body.rate_limit ?? null;
    let changed = false;
    for (const [j, decl] of declared.entries()) {
      const prefix = `tenants.${want.index}.keys.${j}`;
      const name = `${want.slug}/${decl.name}`;
      await within(prefix, () => checkKeyLimit(decl.rate_limit, tenantLimit));
      const existing = byName.get(decl.name);
      const wantedKey = {
        scopes: decl.scopes,
        expires_at: decl.expires_at ? new Date(decl.expires_at).toISOString() : null,
        rate_limit: decl.rate_limit ?? null,
      };
      if (!existing) {
        const expiresAt = await within(prefix, () => futureExpiry(decl.expires_at));
        const created = await createApiKey(tx, {
          tenantId,
          name: decl.name,
          scopes: decl.scopes,
          expiresAt,
          rateLimit: wantedKey.rate_limit,
        });
        await this.audit({
          tenantId,
          resource: 'key',
          resourceId: created.key.id,
          action: 'create',
          after: toKeyJson(created.key),
        });
        this.changes.push({ kind: 'key', name, action: 'create', secret: created.secret });
        changed = true;
        continue;
      }
      const json = toKeyJson(existing);
      const fields = changedFields(json, wantedKey);
      if (fields.length === 0) {
        this.changes.push({ kind: 'key', name, action: 'unchanged' });
        continue;
      }
      const expiresAt = fields.includes('expires_at')
        ? await within(prefix, () => futureExpiry(decl.expires_at))
        : existing.expiresAt;
      const [updated] = await tx
        .update(apiKeys)
        .set({ scopes: decl.scopes, expiresAt, rateLimit: wantedKey.rate_limit })
        .where(eq(apiKeys.id, existing.id))
        .returning();
      await this.audit({
        tenantId,
        resource: 'key',
        resourceId: existing.id,
        action: 'update',
        before: json,
        after: toKeyJson(updated),
      });
      this.changes.push({ kind: 'key', name, action: 'update', fields });
      changed = true;
    }
    if (this.prune) {
      const names = new Set(declared.map((k) => k.name));
      for (const key of live.filter((k) => !names.has(k.name))) {
        const [revoked] = await tx
          .update(apiKeys)
          .set({ revokedAt: new Date() })
          .where(eq(apiKeys.id, key.id))
          .returning();
        await this.audit({
          tenantId,
          resource: 'key',
          resourceId: key.id,
          action: 'revoke',
          before: toKeyJson(key),
          after: toKeyJson(revoked),
        });
        this.changes.push({ kind: 'key', name: `${want.slug}/${key.name}`, action: 'delete' });
        changed = true;
      }
    }
    if (changed) {
      await bumpTenantVersions(tx, [tenantId]);
      this.touched.add(tenantId);
    }
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
  const db = await useDatabase(c);
  let applier: Applier | undefined;
  try {
    await db.transaction(async (tx) => {
      // One apply at a time: two files applied at once would each diff against a state about to change.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tenant-gateway config apply'))`);
      applier = new Applier(c, tx, opts.prune);
      await applier.instances(wanted.instances);
      await applier.tenants(wanted.tenants);
      if (opts.prune) await applier.pruneUnnamed(wanted);
      if (opts.dryRun) throw new DryRun();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) conflicts(err);
  }
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
