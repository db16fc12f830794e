// The usage reads of the control API (DESIGN.md "Usage"): a tenant's days from usage_daily, one key's from
// usage_key_daily, every day of the range present (zero when nothing was counted), with the range's totals;
// and every tenant's totals over a range, busiest first, for operators.
import { and, asc, between, desc, eq, gt, gte, lt, or, type SQL, sql } from 'drizzle-orm';
import { chartDay, fillDays, fromFirstTraffic, lastDays } from '../core/usage/usage-chart';
import { addUsage, emptyUsage, USAGE_FIELDS, type UsageCounts } from '../core/usage/usage-counts';
import type { Database } from '../db/client';
import { tenants } from '../db/schema';
import { usageDaily, usageKeyDaily } from '../db/usage-schema';

const DAY_MS = 86_400_000;

export type UsageDay = { date: string } & UsageCounts;
export type DateRange = { from: string; to: string; days: number };

type CounterRow = typeof usageDaily.$inferSelect;

function toCounts(row: Omit<CounterRow, 'tenantId'>): UsageCounts {
  return {
    requests: row.requests,
    allowed: row.allowed,
    rate_limited: row.rateLimited,
    quota_exceeded: row.quotaExceeded,
    would_limit: row.wouldLimit,
    unauthorized: row.unauthorized,
    status_2xx: row.status2xx,
    status_3xx: row.status3xx,
    status_4xx: row.status4xx,
    status_5xx: row.status5xx,
    backend_4xx: row.backend4xx,
    backend_5xx: row.backend5xx,
    bytes_in: row.bytesIn,
    bytes_out: row.bytesOut,
  };
}

function report(rows: Omit<CounterRow, 'tenantId'>[], range: DateRange) {
  const byDate = new Map(rows.map((row) => [row.date, toCounts(row)]));
  const totals = emptyUsage();
  const days: UsageDay[] = [];
  const start = Date.parse(`${range.from}T00:00:00Z`);
  for (let i = 0; i < range.days; i++) {
    const date = new Date(start + i * DAY_MS).toISOString().slice(0, 10);
    const day = byDate.get(date) ?? emptyUsage();
    addUsage(totals, day);
    days.push({ date, ...day });
  }
  return { totals, days };
}

/** A tenant's usage, all its keys and requests without one, per day of `range`. */
export async function tenantUsage(db: Database, tenantId: string, range: DateRange) {
  const rows = await db
    .select()
    .from(usageDaily)
    .where(and(eq(usageDaily.tenantId, tenantId), between(usageDaily.date, range.from, range.to)))
    .orderBy(asc(usageDaily.date));
  return report(rows, range);
}

/** One key's usage per day of `range`. */
export async function keyUsage(db: Database, tenantId: string, keyId: string, range: DateRange) {
  const rows = await db
    .select()
    .from(usageKeyDaily)
    .where(
      and(
        eq(usageKeyDaily.tenantId, tenantId),
        eq(usageKeyDaily.keyId, keyId),
        between(usageKeyDaily.date, range.from, range.to),
      ),
    )
    .orderBy(asc(usageKeyDaily.date));
  return report(rows, range);
}

/** Where a page of {@link busiestTenants} starts: after this tenant, with this many requests. */
export type BusiestAfter = { requests: number; tenantId: string };

/**
 * Every tenant's totals over `range` that counted anything, busiest (most requests) first, ties by tenant
 * id; `limit` + 1 rows, so the caller knows whether there is another page. A deleted tenant's usage stays,
 * with a null slug.
 */
export async function busiestTenants(db: Database, range: DateRange, limit: number, after?: BusiestAfter) {
  // The counter columns are named as the fields are (db/schema, snake_case).
  const sums: Record<string, SQL<number>> = Object.fromEntries(
    USAGE_FIELDS.map((field) => [
      field,
      sql<number>`sum(${sql.identifier('usage_daily')}.${sql.identifier(field)})`.mapWith(Number),
    ]),
  );
  const requests = sql`sum(${usageDaily.requests})`;
  const page: SQL[] = [];
  if (after) {
    page.push(
      or(
        lt(requests, after.requests),
        and(sql`${requests} = ${after.requests}`, gt(usageDaily.tenantId, after.tenantId)),
      ) as SQL,
    );
  }
  const rows = await db
    .select({ tenantId: usageDaily.tenantId, slug: tenants.slug, ...sums })
    .from(usageDaily)
    .leftJoin(tenants, eq(tenants.id, usageDaily.tenantId))
    .where(between(usageDaily.date, range.from, range.to))
    .groupBy(usageDaily.tenantId, tenants.slug)
    .having(page.length > 0 ? page[0] : undefined)
    .orderBy(desc(requests), asc(usageDaily.tenantId))
    .limit(limit + 1);
  return rows.map(({ tenantId, slug, ...counts }) => ({
    tenantId,
    slug,
    totals: Object.fromEntries(
      USAGE_FIELDS.map((f) => [f, Number((counts as Record<string, unknown>)[f] ?? 0)]),
    ) as UsageCounts,
  }));
}

/**
 * A tenant's last `days` days for the usage charts of the console and the dashboard: each day's requests split
 * by outcome (core/usage/usage-chart), from the first day with traffic on.
 */
export async function tenantChartDays(db: Database, tenantId: string, now: number, days = 30) {
  const dates = lastDays(now, days);
  const rows = await db
    .select()
    .from(usageDaily)
    .where(and(eq(usageDaily.tenantId, tenantId), gte(usageDaily.date, dates[0])));
  return fromFirstTraffic(
    fillDays(
      dates,
      rows.map((row) => chartDay(row.date, toCounts(row))),
    ),
  );
}
