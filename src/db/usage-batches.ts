// Writes a USAGE queue delivery (DESIGN.md "Usage"): one transaction that records every message's batch id
// and adds the messages seen for the first time to usage_daily (tenant totals) and usage_key_daily (per key).
// Ids and rows go in one fixed order (ids ascending; rows by tenant, key, date), so two consumers writing
// at once wait for each other's row locks in the same order and never deadlock.
import { lt, sql } from 'drizzle-orm';
import {
  distinctMessages,
  fullCounts,
  mergeDelivery,
  type UsageMessage,
  type UsageRow,
} from '../core/usage/usage-batch';
import { USAGE_FIELDS, type UsageCounts, type UsageField } from '../core/usage/usage-counts';
import type { Database } from './client';
import { usageBatches, type usageDaily } from './usage-schema';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type CounterColumns = Omit<typeof usageDaily.$inferInsert, 'tenantId' | 'date'>;

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

/** `usage_daily.counter + excluded.counter` for every counter: the gate's flush adds to what a row holds. */
export const addToDaily = Object.fromEntries(
  USAGE_FIELDS.map((field) => [columnKey(field), sql.raw(`usage_daily.${field} + excluded.${field}`)]),
);

export type DeliveryWritten = {
  /** Messages counted by this write. */
  counted: number;
  /** Messages whose id an earlier write had recorded: not counted again. */
  repeated: number;
  /** Rows dropped because their tenant no longer exists. */
  dropped: number;
};

// Rows go to Postgres as one JSON parameter per statement, unpacked there by jsonb_to_recordset: a delivery
// holds thousands of rows (a busy isolate sees many tenants and keys in 5 s), and binding 17 parameters a
// row cost the consumer ~100 ms of CPU per 1,000 rows to build, beside the requests of its isolate.
// USAGE_FIELDS are constants and the columns' own names, so they are written into the statement as is.
const COUNTERS = sql.raw(USAGE_FIELDS.join(', '));
const COUNTER_TYPES = sql.raw(USAGE_FIELDS.map((f) => `${f} bigint`).join(', '));
const COUNTER_VALUES = sql.raw(USAGE_FIELDS.map((f) => `coalesce(r.${f}, 0)`).join(', '));
const addedTo = (table: string) =>
  sql.raw(USAGE_FIELDS.map((f) => `${f} = ${table}.${f} + excluded.${f}`).join(', '));
const ADD_TO_DAILY = addedTo('usage_daily');
const ADD_TO_KEY_DAILY = addedTo('usage_key_daily');

/** A merged row as jsonb_to_recordset reads it: the counters under their column names, zeros left out. */
const asJson = (row: UsageRow) => ({ tenant_id: row.tenant, key_id: row.key, date: row.date, ...row.counts });

/** Records the ids; answers those no earlier write had recorded. */
async function recordIds(tx: Tx, ids: string[]): Promise<Set<string>> {
  const rows = await tx.execute<{ id: string }>(sql`
    insert into usage_batches (id)
    select id from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as ids(id)
    on conflict do nothing
    returning id`);
  return new Set(rows.rows.map((row) => row.id));
}

/**
 * Adds merged rows to usage_daily (`keyed` false) or usage_key_daily, in the rows' order (the function scan
 * yields the array in order, and the insert takes its row locks as the rows come), skipping tenants that no
 * longer exist: a deleted tenant's usage went with it. Answers how many rows were written.
 */
async function addRows(tx: Tx, rows: UsageRow[], keyed: boolean): Promise<number> {
  if (rows.length === 0) return 0;
  const json = JSON.stringify(rows.map(asJson));
  const result = keyed
    ? await tx.execute(sql`
        insert into usage_key_daily (tenant_id, key_id, date, ${COUNTERS})
        select r.tenant_id, r.key_id, r.date::date, ${COUNTER_VALUES}
        from jsonb_to_recordset(${json}::jsonb) as r(tenant_id text, key_id text, date text, ${COUNTER_TYPES})
        where exists (select 1 from tenants t where t.id = r.tenant_id)
        on conflict (tenant_id, key_id, date) do update set ${ADD_TO_KEY_DAILY}`)
    : await tx.execute(sql`
        insert into usage_daily (tenant_id, date, ${COUNTERS})
        select r.tenant_id, r.date::date, ${COUNTER_VALUES}
        from jsonb_to_recordset(${json}::jsonb) as r(tenant_id text, date text, ${COUNTER_TYPES})
        where exists (select 1 from tenants t where t.id = r.tenant_id)
        on conflict (tenant_id, date) do update set ${ADD_TO_DAILY}`);
  return result.rowCount ?? rows.length;
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
    const written = (await addRows(tx, merged.tenants, false)) + (await addRows(tx, merged.keys, true));
    const dropped = merged.tenants.length + merged.keys.length - written;
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
