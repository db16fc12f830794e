// The one transaction of a config apply: the writes of tenancy join it (their `…In` forms), and the caller
// calls the data plane's `tenantChanged` for what it touched once it has committed.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { Transaction } from '../db/queryable';
import { conflicts } from './tenant-placement';

class DryRun extends Error {}

/**
 * Runs `work` in one transaction, one apply at a time; with `dryRun` the transaction is rolled back after
 * it, so a dry run meets exactly what an apply would, conflicts included. Database conflicts are answered as
 * the tenant writes answer them.
 */
export async function inApplyTransaction(
  db: Database,
  dryRun: boolean,
  work: (tx: Transaction) => Promise<void>,
): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      // One apply at a time: two files applied at once would each diff against a state about to change.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tenant-gateway config apply'))`);
      await work(tx);
      if (dryRun) throw new DryRun();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) conflicts(err);
  }
}
