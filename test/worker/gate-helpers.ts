// Shared by the gate, limits and usage tests: tenants with limits, the tenant's gate, usage as the API shows it.
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { apiKeys, type RateLimit, type TenantLimits, tenants } from '../../src/db/schema';
import { sendUsageNow } from '../../src/edge/usage-batch';
import { api } from './control-client';
import { gatewayFetch, type SeededTenant, seedTenant, withDb } from './helpers';

export const limit = (perMinute: number | null, perDay: number | null = null): RateLimit => ({
  requests_per_minute: perMinute,
  requests_per_day: perDay,
});

/** A seeded tenant with limits set before anything has read it. */
export async function limitedTenant(opts: {
  rateLimit?: RateLimit | null;
  keyLimit?: RateLimit | null;
  limits?: TenantLimits;
}): Promise<SeededTenant> {
  const t = await seedTenant();
  await withDb(async (db) => {
    await db
      .update(tenants)
      .set({ rateLimit: opts.rateLimit ?? null, limits: opts.limits ?? { on_gate_error: 'closed' } })
      .where(eq(tenants.id, t.tenantId));
    if (opts.keyLimit)
      await db.update(apiKeys).set({ rateLimit: opts.keyLimit }).where(eq(apiKeys.id, t.keyId));
  });
  return t;
}

/** The ChangeFeed every isolate of the tests polls (one replica). */
export function feed() {
  return env.CHANGE_FEED.get(env.CHANGE_FEED.idFromName('feed-0'));
}

export function gate(tenantId: string) {
  return env.TENANT_GATE.get(env.TENANT_GATE.idFromName(tenantId));
}

/** A request to the tenant's host, with `key` (the tenant's own unless given; null sends none). */
export function hit(t: SeededTenant, path = '/x', opts: { key?: string | null; init?: RequestInit } = {}) {
  const key = opts.key === undefined ? t.key : opts.key;
  const headers = new Headers(opts.init?.headers);
  if (key !== null) headers.set('authorization', `Bearer ${key}`);
  return gatewayFetch(`http://${t.slug}.localhost${path}`, { ...opts.init, headers });
}

export async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

export { awayFromMinuteEnd } from './clock';

export type UsageTotals = Record<string, number>;

/** The usage API's totals of a tenant, or (`keyId`) of one of its keys. */
export async function usageTotals(tenantId: string, keyId?: string): Promise<UsageTotals> {
  const path = keyId ? `/v1/tenants/${tenantId}/keys/${keyId}/usage` : `/v1/tenants/${tenantId}/usage`;
  const res = await api<{ totals: UsageTotals }>('GET', path);
  if (res.status !== 200) throw new Error(`usage answered ${res.status}`);
  return res.body.totals;
}

/**
 * Sends this isolate's usage batch to the USAGE queue now (rather than waiting up to 5 s for it), then polls
 * the usage API until it shows `expected` (checked field by field) or `withinMs` has passed: the totals of
 * the tenant, or with `keyId` of that key.
 */
export async function usageReaches(
  tenantId: string,
  expected: UsageTotals,
  withinMs = 15_000,
  keyId?: string,
): Promise<UsageTotals> {
  await sendUsageNow(env);
  const deadline = Date.now() + withinMs;
  let totals: UsageTotals = {};
  for (;;) {
    totals = await usageTotals(tenantId, keyId).catch(() => totals);
    const matches = Object.entries(expected).every(([field, value]) => totals[field] === value);
    if (matches || Date.now() >= deadline) return totals;
    await new Promise((done) => setTimeout(done, 100));
  }
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
