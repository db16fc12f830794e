// Config apply's keys of one tenant: the declared ones made or brought up to date, with prune the others
// revoked, all in the apply's one transaction.
import { and, asc, eq, isNull } from 'drizzle-orm';
import { changedFields } from '../core/tenancy/config-diff';
import { createApiKey } from '../db/keys';
import { apiKeys } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { toKeyJson } from '../tenancy/key-schemas';
import { type ApplyStep, type WantedTenant, within } from './config-check';
import { checkKeyLimit, futureExpiry } from './keys';

type KeyRow = typeof apiKeys.$inferSelect;

/** Declared keys exist with the declared scopes and limits; with prune, the tenant's other live keys are revoked. */
export async function applyKeys(step: ApplyStep, want: WantedTenant, tenantId: string) {
  const { tx } = step;
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
  const keyAudit = (action: 'update' | 'revoke', before: KeyRow, after: KeyRow) =>
    step.audit({
      tenantId,
      resource: 'key',
      resourceId: before.id,
      action,
      before: toKeyJson(before),
      after: toKeyJson(after),
    });
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
      await step.audit({
        tenantId,
        resource: 'key',
        resourceId: created.key.id,
        action: 'create',
        after: toKeyJson(created.key),
      });
      step.changes.push({ kind: 'key', name, action: 'create', secret: created.secret });
      changed = true;
      continue;
    }
    const json = toKeyJson(existing);
    const fields = changedFields(json, wantedKey);
    if (fields.length === 0) {
      step.changes.push({ kind: 'key', name, action: 'unchanged' });
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
    await keyAudit('update', existing, updated);
    step.changes.push({ kind: 'key', name, action: 'update', fields });
    changed = true;
  }
  if (step.prune) {
    const names = new Set(declared.map((k) => k.name));
    for (const key of live.filter((k) => !names.has(k.name))) {
      const [revoked] = await tx
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(eq(apiKeys.id, key.id))
        .returning();
      await keyAudit('revoke', key, revoked);
      step.changes.push({ kind: 'key', name: `${want.slug}/${key.name}`, action: 'delete' });
      changed = true;
    }
  }
  if (changed) {
    await bumpTenantVersions(tx, [tenantId]);
    step.touched.add(tenantId);
  }
}
