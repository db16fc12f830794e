// The audit trail's rows: who changed what, written in the change's own transaction.
import type { Context } from 'hono';
import type { Queryable } from '../db/queryable';
import { auditLog } from '../db/schema';
import type { AppEnv } from '../env';
import { actorOf } from './actor';

export type AuditEntry = {
  tenantId: string | null;
  resource: 'instance' | 'tenant' | 'domain' | 'key' | 'install_token';
  resourceId: string;
  action: 'create' | 'update' | 'replace' | 'delete' | 'revoke' | 'rotate' | 'install';
  // API views only: they never hold a secret or a hash.
  before?: unknown;
  after?: unknown;
};

/** Who makes a change and in which request: what an audit row takes from its caller. */
export type AuditContext = { actor: string; requestId: string | undefined };

/** The audit context of a request: its actor (set by control's `authenticate` or the console's session). */
export function auditContextOf(c: Context<AppEnv>): AuditContext {
  return { actor: actorOf(c).id, requestId: c.get('requestId') };
}

/** The audit_log row for a change by `by`, to insert in the change's own transaction. */
export function auditRowBy(by: AuditContext, entry: AuditEntry): typeof auditLog.$inferInsert {
  return {
    actor: by.actor,
    tenantId: entry.tenantId,
    resource: entry.resource,
    resourceId: entry.resourceId,
    action: entry.action,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: by.requestId,
  };
}

/** The audit_log row for a change, to insert in the change's own transaction. */
export function auditRow(c: Context<AppEnv>, entry: AuditEntry): typeof auditLog.$inferInsert {
  return auditRowBy(auditContextOf(c), entry);
}

/** Inserts the audit row of a change made by `by`, in the change's transaction `tx`. */
export async function writeAudit(tx: Queryable, by: AuditContext, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values(auditRowBy(by, entry));
}
