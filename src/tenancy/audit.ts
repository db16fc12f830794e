// The audit trail's rows: who changed what, written in the change's own transaction.
import type { Context } from 'hono';
import type { auditLog } from '../db/schema';
import type { AppEnv } from '../env';
import { actorOf } from './actor';

export type AuditEntry = {
  tenantId: string | null;
  resource: 'instance' | 'tenant' | 'domain' | 'key' | 'install_token';
  resourceId: string;
  action: 'create' | 'update' | 'replace' | 'delete' | 'revoke' | 'rotate';
  // API views only: they never hold a secret or a hash.
  before?: unknown;
  after?: unknown;
};

/** The audit_log row for a change, to insert in the change's own transaction. */
export function auditRow(c: Context<AppEnv>, entry: AuditEntry): typeof auditLog.$inferInsert {
  return {
    actor: actorOf(c).id,
    tenantId: entry.tenantId,
    resource: entry.resource,
    resourceId: entry.resourceId,
    action: entry.action,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: c.get('requestId'),
  };
}
