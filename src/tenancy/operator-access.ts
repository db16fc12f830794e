// Operator access to a tenant's backend is audited (DESIGN.md `ANY /v1/tenants/:tenant/proxy/*`): one row per
// request, written before it is forwarded, so an access is on record even when the backend never answers.
import { writeAudit } from './audit';
import type { Writer } from './writer';

export async function recordOperatorAccess(
  w: Writer,
  tenantId: string,
  request: { method: string; path: string },
): Promise<void> {
  // One insert, nothing for the data plane to hear of: no transaction or version bump is needed.
  await writeAudit(w.db, w.by(), {
    tenantId,
    resource: 'tenant',
    resourceId: tenantId,
    action: 'proxy',
    after: request,
  });
}
