import { eq, lt, sql } from 'drizzle-orm';
import { USAGE_FIELDS, type UsageCounts, type UsageDelta } from '../core/usage/usage-counts';
import type { Database } from './client';
import { tenants, usageDaily, usageFlushes } from './schema';

/** A batch of a TenantGate's usage; its id is kept with it until the write commits. */
export type UsageFlush = { id: string; tenantId: string; days: UsageDelta };

type UsageRow = typeof usageDaily.$inferInsert;
type UsageField = (typeof USAGE_FIELDS)[number];

// USAGE_FIELDS are usage_daily's column names; Drizzle knows them by their camelCase keys.
const keyOf = (field: UsageField) =>
  field.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) as keyof UsageRow;
// The counters add to what the row holds.
const addToRow = Object.fromEntries(
  USAGE_FIELDS.map((field) => [keyOf(field), sql.raw(`usage_daily.${field} + excluded.${field}`)]),
);

function row(tenantId: string, date: string, counts: UsageCounts): UsageRow {
  const row: Record<string, unknown> = { tenantId, date };
  for (const field of USAGE_FIELDS) row[keyOf(field)] = counts[field];
  return row as UsageRow;
}

/**
 * Adds a flush to usage_daily, once: the flush row and the counters commit together, so a retried flush
 * whose first attempt did commit (and whose answer was lost) adds nothing the second time.
 */
export async function writeUsageFlush(db: Database, flush: UsageFlush): Promise<void> {
  await db.transaction(async (tx) => {
    const fresh = await tx
      .insert(usageFlushes)
      .values({ id: flush.id, tenantId: flush.tenantId })
      .onConflictDoNothing()
      .returning({ id: usageFlushes.id });
    if (fresh.length === 0) return;
    // A deleted tenant's usage went with it (usage_daily cascades); its last counts have nowhere to go.
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, flush.tenantId));
    const days = Object.entries(flush.days);
    if (!tenant || days.length === 0) return;
    await tx
      .insert(usageDaily)
      .values(days.map(([date, counts]) => row(flush.tenantId, date, counts)))
      .onConflictDoUpdate({ target: [usageDaily.tenantId, usageDaily.date], set: addToRow });
  });
}

/**
 * Forgets flush ids older than a week: a TenantGate retries a flush until it commits, within minutes, so by
 * then no retry can arrive that the id would have to recognise. Answers how many it removed.
 */
export async function pruneUsageFlushes(db: Database): Promise<number> {
  const removed = await db
    .delete(usageFlushes)
    .where(lt(usageFlushes.createdAt, sql`now() - interval '7 days'`))
    .returning({ id: usageFlushes.id });
  return removed.length;
}
