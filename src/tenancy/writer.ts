// How every control-plane write of tenancy runs, whoever calls it. The caller hands over a `Writer`: the
// database (or a transaction of the caller's, e.g. config apply's: the write then runs in a savepoint of
// it), who makes the change, for the audit row, and the data plane's `tenantChanged` (tenancy imports neither
// edge nor control, so control and the console pass it in). The write itself, through `runWrite`, owns the
// rest: its transaction, and after commit `tenantChanged` for each tenant whose version it bumped.
import type { Context } from 'hono';
import type { Queryable, Transaction } from '../db/queryable';
import type { AppEnv } from '../env';
import { useDatabase } from '../request-database';
import { type Auditor, auditorOf } from './audit';

export type Writer = {
  db: Queryable;
  /** Who makes the change, for its audit row (read when the row is written: the install names its new admin). */
  by: () => Auditor;
  requestId: string | undefined;
  /** After commit, for each tenant whose version the write bumped: the data plane's `tenantChanged`. */
  tenantChanged: (tenantId: string) => void;
};

/** A request's writer: its database, its actor, and the data plane's `tenantChanged` for after commit. */
export async function writerOf(
  c: Context<AppEnv>,
  tenantChanged: (c: Context<AppEnv>, tenantId: string) => void,
): Promise<Writer> {
  return {
    db: await useDatabase(c),
    by: () => auditorOf(c),
    requestId: c.get('requestId'),
    tenantChanged: (tenantId) => tenantChanged(c, tenantId),
  };
}

/** Marks a tenant the write changed (its version bumped), so the data plane hears of it after commit. */
export type MarkChanged = (tenantId: string) => void;

/**
 * Runs one write: `work` in a transaction of the writer's database and, once that has committed,
 * `tenantChanged` for every tenant `work` marked. A write that fails notifies no one.
 */
export async function runWrite<T>(
  w: Writer,
  work: (tx: Transaction, changed: MarkChanged) => Promise<T>,
): Promise<T> {
  const changed = new Set<string>();
  const result = await w.db.transaction((tx) => work(tx, (tenantId) => changed.add(tenantId)));
  for (const tenantId of changed) w.tenantChanged(tenantId);
  return result;
}
