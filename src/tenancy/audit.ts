// The audit trail's rows: who changed what, written in the change's own transaction.
import type { Context } from 'hono';
import type { Queryable } from '../db/queryable';
import { auditLog } from '../db/schema';
import type { AppEnv } from '../env';
import { actorOf } from './actor';

export type AuditEntry = {
  tenantId: string | null;
  resource: 'instance' | 'tenant' | 'domain' | 'key' | 'install_token' | 'recovery_token' | 'admin';
  resourceId: string;
  action:
    | 'create'
    | 'update'
    | 'replace'
    | 'delete'
    | 'revoke'
    | 'rotate'
    | 'install'
    | 'reseal'
    | 'proxy'
    | 'use'
    | 'password';
  // API views only: they never hold a secret or a hash.
  before?: unknown;
  after?: unknown;
};

/** Who makes a change and in which request: what a write needs of its caller for its audit rows. */
export type Auditor = { actor: string; requestId: string | undefined };

/** The request's auditor: its actor (set by control's `authenticate` or the console's session) and id. */
export function auditorOf(c: Context<AppEnv>): Auditor {
  return { actor: actorOf(c).id, requestId: c.get('requestId') };
}

/** The audit_log row for a change, to insert in the change's own transaction. */
export function auditRow(by: Context<AppEnv> | Auditor, entry: AuditEntry): typeof auditLog.$inferInsert {
  const who = 'req' in by ? auditorOf(by) : by;
  return {
    actor: who.actor,
    tenantId: entry.tenantId,
    resource: entry.resource,
    resourceId: entry.resourceId,
    action: entry.action,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: who.requestId,
  };
}

/** Inserts the audit row of a change made by `by`, in the change's transaction `tx`. */
export async function writeAudit(tx: Queryable, by: Auditor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values(auditRow(by, entry));
}
