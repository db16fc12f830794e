// What every control-plane write of tenancy takes from its caller: the database (or a transaction of the
// caller's, e.g. config apply's: the write then runs in a savepoint of it), who makes the change, for the
// audit row, and what to call for each tenant the write changed once it has committed. Control and the
// console give the data plane's `tenantChanged` (tenancy imports neither edge nor control); a caller with a
// transaction of its own collects the ids instead and notifies after its commit.
import type { Context } from 'hono';
import type { Queryable } from '../db/queryable';
import type { AppEnv } from '../env';
import { useDatabase } from '../request-database';
import { type Auditor, auditorOf } from './audit';

export type Writer = {
  db: Queryable;
  /** Who makes the change, for its audit row (read when the row is written: the install names its new admin). */
  by: () => Auditor;
  requestId: string | undefined;
  /** After commit, for each tenant whose version the write bumped. */
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
