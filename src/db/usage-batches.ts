// Writes a USAGE queue delivery (DESIGN.md "Usage"): one transaction that records every message's batch id
// and adds the messages seen for the first time to usage_daily (tenant totals) and usage_key_daily (per key).
// Ids and rows go in one fixed order (ids ascending; rows by tenant, key, date), so two consumers writing
// at once wait for each other's row locks in the same order and never deadlock.
import { inArray, lt, sql } from 'drizzle-orm';
import { distinctMessages, fullCounts, mergeDelivery, type UsageMessage } from '../core/usage/usage-batch';
import { USAGE_FIELDS, type UsageCounts, type UsageField } from '../core/usage/usage-counts';
import type { Database } from './client';
import { tenants } from './schema';
import { usageBatches, usageDaily, usageKeyDaily } from './usage-schema';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type CounterColumns = Omit<typeof usageDaily.$inferInsert, 'tenantId' | 'date'>;

// Rows per INSERT: 14 parameters each, well under Postgres's 65,535 per statement.
const CHUNK = 1_000;

// USAGE_FIELDS are the columns' names; Drizzle knows them by their camelCase keys.
const columnKey = (field: UsageField) =>
  field.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) as keyof CounterColumns;

/** Counts as the usage tables' counter columns (missing counters 0); also the gate's flush (./usage). */
export function counterColumns(partial: Partial<UsageCounts>): CounterColumns {
  const counts = fullCounts(partial);
  const out: Record<string, number> = {};
  for (const field of USAGE_FIELDS) out[columnKey(field)] = counts[field];
  return out as CounterColumns;
}

/** `table.counter + excluded.counter` for every counter: an upsert adds to what the row holds. */
function addTo(table: 'usage_daily' | 'usage_key_daily') {
  return Object.fromEntries(
    USAGE_FIELDS.map((field) => [columnKey(field), sql.raw(`${table}.${field} + excluded.${field}`)]),
  );
}
export const addToDaily = addTo('usage_daily');
const addToKeyDaily = addTo('usage_key_daily');

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export type DeliveryWritten = {
  /** Messages counted by this write. */
  counted: number;
  /** Messages whose id an earlier write had recorded: not counted again. */
  repeated: number;
  /** Rows dropped because their tenant no longer exists. */
  dropped: number;
};

/** Tenants of `ids` that still exist: a deleted tenant's usage went with it and its last counts go nowhere. */
async function existingTenants(tx: Tx, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await tx.select({ id: tenants.id }).from(tenants).where(inArray(tenants.id, part));
    for (const row of rows) found.add(row.id);
  }
  return found;
}

async function recordIds(tx: Tx, ids: string[]): Promise<Set<string>> {
  const fresh = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await tx
      .insert(usageBatches)
      .values(part.map((id) => ({ id })))
      .onConflictDoNothing()
      .returning({ id: usageBatches.id });
    for (const row of rows) fresh.add(row.id);
  }
  return fresh;
}

/** Adds a delivery's messages to the usage tables, each message once however often it is delivered. */
export async function writeUsageDelivery(db: Database, messages: UsageMessage[]): Promise<DeliveryWritten> {
  const distinct = distinctMessages(messages);
  if (distinct.length === 0) return { counted: 0, repeated: messages.length, dropped: 0 };
  return db.transaction(async (tx) => {
    const fresh = await recordIds(
      tx,
      distinct.map((m) => m.id),
    );
    const merged = mergeDelivery(distinct.filter((m) => fresh.has(m.id)));
    const live = await existingTenants(tx, [...new Set(merged.tenants.map((row) => row.tenant))]);
    const daily = merged.tenants.filter((row) => live.has(row.tenant));
    const keyed = merged.keys.filter((row) => live.has(row.tenant));
    for (const part of chunks(daily)) {
      await tx
        .insert(usageDaily)
        .values(part.map((row) => ({ tenantId: row.tenant, date: row.date, ...counterColumns(row.counts) })))
        .onConflictDoUpdate({ target: [usageDaily.tenantId, usageDaily.date], set: addToDaily });
    }
    for (const part of chunks(keyed)) {
      await tx
        .insert(usageKeyDaily)
        .values(
          part.map((row) => ({
            tenantId: row.tenant,
            keyId: row.key as string,
            date: row.date,
            ...counterColumns(row.counts),
          })),
        )
        .onConflictDoUpdate({
          target: [usageKeyDaily.tenantId, usageKeyDaily.keyId, usageKeyDaily.date],
          set: addToKeyDaily,
        });
    }
    const dropped = merged.tenants.length - daily.length + merged.keys.length - keyed.length;
    return { counted: fresh.size, repeated: messages.length - fresh.size, dropped };
  });
}

/**
 * Forgets batch ids older than a week: the queue retries a delivery for about 30 h (then as long again from
 * the dead-letter queue), so by then no copy can arrive that the id would have to recognise.
 */
export async function pruneUsageBatches(db: Database): Promise<number> {
  const removed = await db
    .delete(usageBatches)
    .where(lt(usageBatches.createdAt, sql`now() - interval '7 days'`))
    .returning({ id: usageBatches.id });
  return removed.length;
}
