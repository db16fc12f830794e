// Reads of the `changes` table (the truth behind the ChangeFeed) and its pruning.
import { sql } from 'drizzle-orm';
import type { ChangeEntry } from '../core/feed/feed-log';
import type { Database } from './client';

type Row = {
  seq: string | number;
  tenant_id: string | null;
  instance_id: string | null;
  version: string | number;
};

const toEntry = (r: Row): ChangeEntry => ({
  seq: Number(r.seq),
  tenantId: r.tenant_id,
  instanceId: r.instance_id,
  version: Number(r.version),
});

async function maxSeq(db: Database): Promise<number> {
  const result = await db.execute<{ max: string | null }>(sql`select max(seq) as max from changes`);
  return Number(result.rows[0]?.max ?? 0);
}

/**
 * Every row past `after`, in seq order, unless there are more than `limit` (then null). One statement: the
 * feed runs it every 10 s and on every append, and the table's max(seq) would be of no use to it here.
 */
export async function readChangesAfter(
  db: Database,
  after: number,
  limit: number,
): Promise<ChangeEntry[] | null> {
  const result = await db.execute<Row>(sql`
    select seq, tenant_id, instance_id, version from changes where seq > ${after} order by seq limit ${limit + 1}`);
  return result.rows.length > limit ? null : result.rows.map(toEntry);
}

/** The last rows of the last `withinMs` (at most `limit`), in seq order, and the table's max seq. */
export async function readRecentChanges(
  db: Database,
  withinMs: number,
  limit: number,
): Promise<{ rows: ChangeEntry[]; head: number }> {
  const result = await db.execute<Row>(sql`
    select seq, tenant_id, instance_id, version from (
      select * from changes where at > now() - make_interval(secs => ${withinMs / 1000})
      order by seq desc limit ${limit}) recent
    order by seq`);
  return { rows: result.rows.map(toEntry), head: await maxSeq(db) };
}

/** Forgets rows older than a day: feeds keep minutes, and a feed starting afresh reads only its retention. */
export async function pruneChanges(db: Database): Promise<void> {
  await db.execute(sql`delete from changes where at < now() - interval '1 day'`);
}
