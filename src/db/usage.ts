import { eq, lt, sql } from 'drizzle-orm';
import type { UsageDelta } from '../core/usage/usage-counts';
import type { Database } from './client';
import { tenants } from './schema';
import { addToDaily, counterColumns } from './usage-batches';
import { usageDaily, usageFlushes } from './usage-schema';

/** A batch of a TenantGate's usage; its id is kept with it until the write commits. */
export type UsageFlush = { id: string; tenantId: string; days: UsageDelta };

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
      .values(days.map(([date, counts]) => ({ tenantId: flush.tenantId, date, ...counterColumns(counts) })))
      .onConflictDoUpdate({ target: [usageDaily.tenantId, usageDaily.date], set: addToDaily });
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
