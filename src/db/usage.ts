import { lt, sql } from 'drizzle-orm';
import type { UsageDelta } from '../core/usage/usage-counts';
import type { Database } from './client';
import { addUsageRows } from './usage-batches';
import { usageFlushes } from './usage-schema';

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
    // A deleted tenant's usage went with it (usage_daily cascades): addUsageRows writes none of its rows.
    const rows = Object.entries(flush.days).map(([date, counts]) => ({
      tenant: flush.tenantId,
      key: null,
      date,
      counts,
    }));
    await addUsageRows(tx, 'usage_daily', rows);
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
