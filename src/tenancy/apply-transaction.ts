// The one transaction of a config apply. The tenancy writes the apply makes join it (their writer's database
// is this transaction) and mark the tenants they change; the data plane hears of those once the whole apply
// has committed, and never of a dry run's.
import { sql } from 'drizzle-orm';
import { conflicts } from './tenant-placement';
import { runWrite, type Writer } from './writer';

class DryRun extends Error {}

/**
 * Runs `work` in one transaction, one apply at a time, with a writer whose writes join it; with `dryRun` the
 * transaction is rolled back after it, so a dry run meets exactly what an apply would, conflicts included.
 * Database conflicts are answered as the tenant writes answer them.
 */
export async function inApplyTransaction<T>(
  w: Writer,
  dryRun: boolean,
  work: (inApply: Writer) => Promise<T>,
): Promise<T> {
  let result: T | undefined;
  try {
    await runWrite(w, async (tx, changed) => {
      // One apply at a time: two files applied at once would each diff against a state about to change.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('tenant-gateway config apply'))`);
      result = await work({ ...w, db: tx, tenantChanged: changed });
      if (dryRun) throw new DryRun();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) conflicts(err);
  }
  return result as T;
}
