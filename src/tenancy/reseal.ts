// Re-sealing every stored secret with the newest SEALING_KEY (DESIGN.md: SEALING_KEY lists keys, newest
// first), so the sealing key can be rotated without downtime: put the new key in front, call this once, then
// drop the old key. Sealed values today are the instances' signing secrets.
import { eq } from 'drizzle-orm';
import { openSealed, seal } from '../core/crypto/seal';
import { instances } from '../db/schema';
import { placedInstanceChanged } from './instances';
import { runWrite, type Writer } from './writer';

export type ResealReport = {
  /** Instances whose secret was sealed with an older key and now is with the newest. */
  resealed: string[];
  /** Already sealed with the newest key: left as they are. */
  current: string[];
  /** No listed key opens them (sealed under a key no longer listed): left as they are, for an operator. */
  unreadable: string[];
};

/**
 * One transaction: each instance's secret opened with whichever listed key fits and sealed again with the
 * newest, an audit row per re-sealed instance, and the version of every tenant placed on one bumped (the
 * per-colo cache holds records by version, and a record with the old sealed text would not open once the
 * old key is dropped).
 */
export async function resealSecrets(w: Writer, sealingKey: string): Promise<ResealReport> {
  return runWrite(w, async (tx, changed) => {
    const report: ResealReport = { resealed: [], current: [], unreadable: [] };
    const rows = await tx.select().from(instances).orderBy(instances.name).for('update');
    for (const row of rows) {
      const opened = await openSealed(row.signingSecretSealed, sealingKey).catch(() => null);
      if (!opened) {
        report.unreadable.push(row.name);
        continue;
      }
      if (opened.newest) {
        report.current.push(row.name);
        continue;
      }
      const [after] = await tx
        .update(instances)
        .set({ signingSecretSealed: await seal(opened.plaintext, sealingKey), updatedAt: new Date() })
        .where(eq(instances.id, row.id))
        .returning();
      await placedInstanceChanged(w, tx, changed, { action: 'reseal', before: row, after });
      report.resealed.push(row.name);
    }
    return report;
  });
}
