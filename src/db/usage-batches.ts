// Writes a USAGE queue delivery (DESIGN.md "Usage"): one transaction that records every message's batch id
// and adds the messages seen for the first time to usage_daily (tenant totals) and usage_key_daily (per key).
// Ids and rows go in one fixed order (ids ascending; rows by tenant, key, date), so two consumers writing
// at once wait for each other's row locks in the same order and never deadlock.
import { lt, sql } from 'drizzle-orm';
import { distinctMessages, mergeDelivery, type UsageMessage, type UsageRow } from '../core/usage/usage-batch';
import { USAGE_FIELDS } from '../core/usage/usage-counts';
import type { Database } from './client';
import { usageBatches } from './usage-schema';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

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

/** One of the usage tables, as the statement names it: usage_key_daily adds a `key_id` to the row's key. */
function usageTable(name: 'usage_daily' | 'usage_key_daily', keyed: boolean) {
  return {
    name: sql.raw(name),
    key: sql.raw(keyed ? 'key_id, ' : ''),
    keySelect: sql.raw(keyed ? 'r.key_id, ' : ''),
    add: sql.raw(USAGE_FIELDS.map((f) => `${f} = ${name}.${f} + excluded.${f}`).join(', ')),
  };
}
const TABLES = {
  usage_daily: usageTable('usage_daily', false),
  usage_key_daily: usageTable('usage_key_daily', true),
};

/** A merged row as jsonb_to_recordset reads it: the counters under their column names, zeros left out. */
const asJson = (row: UsageRow) => ({ tenant_id: row.tenant, key_id: row.key, date: row.date, ...row.counts });

/**
 * Adds rows to a usage table in the rows' order (the function scan yields the array in order, and the insert
 * takes its row locks as the rows come), skipping tenants that no longer exist: a deleted tenant's usage went
 * with it. Answers how many rows were written. Also the TenantGate's flush (./usage).
 */
export async function addUsageRows(
  tx: Pick<Database, 'execute'>,
  table: keyof typeof TABLES,
  rows: UsageRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const t = TABLES[table];
  const result = await tx.execute(sql`
    insert into ${t.name} (tenant_id, ${t.key}date, ${COUNTERS})
    select r.tenant_id, ${t.keySelect}r.date::date, ${COUNTER_VALUES}
    from jsonb_to_recordset(${JSON.stringify(rows.map(asJson))}::jsonb)
      as r(tenant_id text, key_id text, date text, ${COUNTER_TYPES})
    where exists (select 1 from tenants t where t.id = r.tenant_id)
    on conflict (tenant_id, ${t.key}date) do update set ${t.add}`);
  return result.rowCount ?? rows.length;
}

/** Records the ids; answers those no earlier write had recorded. */
async function recordIds(tx: Tx, ids: string[]): Promise<Set<string>> {
  const rows = await tx.execute<{ id: string }>(sql`
    insert into usage_batches (id)
    select id from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as ids(id)
    on conflict do nothing
    returning id`);
  return new Set(rows.rows.map((row) => row.id));
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
    const written =
      (await addUsageRows(tx, 'usage_daily', merged.tenants)) +
      (await addUsageRows(tx, 'usage_key_daily', merged.keys));
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
