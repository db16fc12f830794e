// Config apply's keys of one tenant, planned: the declared ones made or brought up to date, with prune the
// tenant's other live keys revoked, each through the tenancy key writes.
import { and, asc, inArray, isNull } from 'drizzle-orm';
import { changedFields } from '../core/tenancy/config-diff';
import type { Queryable } from '../db/queryable';
import { apiKeys, type instances } from '../db/schema';
import type { TenantView } from '../db/tenants';
import { toKeyJson } from '../tenancy/key-schemas';
import { createKey, revokeTenantKey, updateTenantKey } from '../tenancy/keys';
import type { Writer } from '../tenancy/writer';
import { type WantedTenant, within } from './config-check';
import type { ConfigChange } from './config-schema';
import { checkKeyLimit, futureExpiry } from './keys';

type KeyRow = typeof apiKeys.$inferSelect;

/** What an apply diffs the file against, read once in its transaction; `ids` also learns new tenants' ids. */
export type ApplyState = {
  instances: Map<string, typeof instances.$inferSelect>;
  tenants: Map<string, TenantView>;
  /** Live keys by tenant id, oldest first. */
  keys: Map<string, KeyRow[]>;
  /** Tenant ids by slug. */
  ids: Map<string, string>;
};

/**
 * One step of the plan: the change it reports, and the write that makes it (none if unchanged), which may
 * `show` what it shows once (a secret) with the change.
 */
export type Step = {
  change: ConfigChange;
  write?: (w: Writer, state: ApplyState, show: (shown: Partial<ConfigChange>) => void) => Promise<unknown>;
};

/** The live keys of the tenants `tenantIds`, oldest first. */
export async function liveKeysOf(db: Queryable, tenantIds: string[]): Promise<Map<string, KeyRow[]>> {
  const byTenant = new Map<string, KeyRow[]>();
  if (tenantIds.length === 0) return byTenant;
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(inArray(apiKeys.tenantId, tenantIds), isNull(apiKeys.revokedAt)))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  for (const row of rows) {
    const id = row.tenantId as string;
    byTenant.set(id, [...(byTenant.get(id) ?? []), row]);
  }
  return byTenant;
}

/** Declared keys exist with the declared scopes and limits; with prune, the tenant's other live keys are revoked. */
export function keySteps(want: WantedTenant, state: ApplyState, prune: boolean): Step[] {
  if (!want.body.keys) return [];
  const declared = want.body.keys;
  const existingId = state.tenants.get(want.slug)?.tenant.id;
  const live = existingId ? (state.keys.get(existingId) ?? []) : [];
  const byName = new Map<string, KeyRow>();
  for (const key of live) if (!byName.has(key.name)) byName.set(key.name, key);
  const tenantLimit = want.body.rate_limit ?? null;
  const tenantIdOf = (s: ApplyState) => s.ids.get(want.slug) as string;
  const steps = declared.map((decl, j): Step => {
    const prefix = `tenants.${want.index}.keys.${j}`;
    const name = `${want.slug}/${decl.name}`;
    const checkLimit = () => within(prefix, () => checkKeyLimit(decl.rate_limit, tenantLimit));
    const expiry = () => within(prefix, () => futureExpiry(decl.expires_at));
    const wantedKey = {
      scopes: decl.scopes,
      expires_at: decl.expires_at ? new Date(decl.expires_at).toISOString() : null,
      rate_limit: decl.rate_limit ?? null,
    };
    const existing = byName.get(decl.name);
    if (!existing) {
      return {
        change: { kind: 'key', name, action: 'create' },
        write: async (w, s, show) => {
          await checkLimit();
          const expiresAt = await expiry();
          const created = await createKey(w, {
            tenantId: tenantIdOf(s),
            name: decl.name,
            scopes: decl.scopes,
            expiresAt,
            rateLimit: wantedKey.rate_limit,
          });
          show({ secret: created.secret });
        },
      };
    }
    const fields = changedFields(toKeyJson(existing), wantedKey);
    if (fields.length === 0) {
      // Unchanged, but the tenant's limit may have come down below the key's.
      return {
        change: { kind: 'key', name, action: 'unchanged' },
        write: async () => void (await checkLimit()),
      };
    }
    return {
      change: { kind: 'key', name, action: 'update', fields },
      write: async (w, s) => {
        await checkLimit();
        const expiresAt = fields.includes('expires_at') ? await expiry() : existing.expiresAt;
        const update = { scopes: decl.scopes, expiresAt, rateLimit: wantedKey.rate_limit };
        await updateTenantKey(w, tenantIdOf(s), existing, update);
      },
    };
  });
  if (!prune) return steps;
  const names = new Set(declared.map((k) => k.name));
  const revoked = live
    .filter((key) => !names.has(key.name))
    .map(
      (key): Step => ({
        change: { kind: 'key', name: `${want.slug}/${key.name}`, action: 'delete' },
        write: async (w, s) => {
          await revokeTenantKey(w, tenantIdOf(s), key);
        },
      }),
    );
  return [...steps, ...revoked];
}
