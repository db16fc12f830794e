// Re-sealing every stored secret with the newest SEALING_KEY (DESIGN.md: SEALING_KEY lists keys, newest
// first), so the sealing key can be rotated without downtime: put the new key in front, call this once, then
// drop the old key. Sealed values are the instances' signing secrets and the tenants' injected headers.
import { eq, ne, sql } from 'drizzle-orm';
import { openSealed, seal } from '../core/crypto/seal';
import type { Transaction } from '../db/queryable';
import { instances, type SealedHeaders, tenants } from '../db/schema';
import { writeAudit } from './audit';
import { placedInstanceChanged } from './instances';
import { type MarkChanged, runWrite, type Writer } from './writer';

type Sorted = {
  /** Sealed with an older key, and now with the newest. */
  resealed: string[];
  /** Already sealed with the newest key: left as they are. */
  current: string[];
  /** No listed key opens them (sealed under a key no longer listed): left as they are, for an operator. */
  unreadable: string[];
};

/** Instances by name; `tenants`: by slug, those with injected headers (one unreadable header lists it so). */
export type ResealReport = Sorted & { tenants: Sorted };

/**
 * One transaction: each instance's secret opened with whichever listed key fits and sealed again with the
 * newest, an audit row per re-sealed instance, and the version of every tenant placed on one bumped (the
 * per-colo cache holds records by version, and a record with the old sealed text would not open once the
 * old key is dropped).
 */
export async function resealSecrets(w: Writer, sealingKey: string): Promise<ResealReport> {
  return runWrite(w, async (tx, changed) => {
    const report: ResealReport = {
      resealed: [],
      current: [],
      unreadable: [],
      tenants: await resealTenantHeaders(w, tx, changed, sealingKey),
    };
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

/**
 * Each tenant's injected headers opened and sealed again with the newest key; a header no listed key opens
 * is left as it is, and its tenant reported unreadable. A re-sealed tenant gets a new version and an audit
 * row naming its headers (never a value).
 */
async function resealTenantHeaders(
  w: Writer,
  tx: Transaction,
  changed: MarkChanged,
  sealingKey: string,
): Promise<Sorted> {
  const report: Sorted = { resealed: [], current: [], unreadable: [] };
  const rows = await tx
    .select({ id: tenants.id, slug: tenants.slug, injectHeaders: tenants.injectHeaders })
    .from(tenants)
    .where(ne(tenants.injectHeaders, sql`'{}'::jsonb`))
    .orderBy(tenants.slug)
    .for('update');
  for (const row of rows) {
    const next: SealedHeaders = {};
    let resealed = false;
    let unreadable = false;
    for (const [name, header] of Object.entries(row.injectHeaders)) {
      const opened = await openSealed(header.sealed, sealingKey).catch(() => null);
      unreadable ||= opened === null;
      resealed ||= opened?.newest === false;
      next[name] =
        opened && !opened.newest ? { ...header, sealed: await seal(opened.plaintext, sealingKey) } : header;
    }
    if (unreadable) report.unreadable.push(row.slug);
    if (resealed) {
      await tx
        .update(tenants)
        .set({ injectHeaders: next, version: sql`${tenants.version} + 1`, updatedAt: new Date() })
        .where(eq(tenants.id, row.id));
      await writeAudit(tx, w.by(), {
        tenantId: row.id,
        resource: 'tenant',
        resourceId: row.id,
        action: 'reseal',
        after: { inject_headers: Object.keys(next) },
      });
      changed(row.id);
      report.resealed.push(row.slug);
    } else if (!unreadable) {
      report.current.push(row.slug);
    }
  }
  return report;
}
