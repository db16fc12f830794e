import { newId } from '../core/crypto/ids';
import type { Queryable } from './queryable';
import { events, type tenants } from './schema';

export type TenantEventType =
  | 'tenant.created'
  | 'tenant.installed'
  | 'tenant.updated'
  | 'tenant.suspended'
  | 'tenant.deleted';

/** Writes a lifecycle event to the outbox; call it inside the transaction that made the change. */
export async function writeTenantEvent(
  db: Queryable,
  type: TenantEventType,
  tenant: typeof tenants.$inferSelect,
) {
  const id = newId('evt');
  const createdAt = new Date();
  await db.insert(events).values({
    id,
    tenantId: tenant.id,
    instanceId: tenant.homeInstanceId,
    type,
    payload: {
      id,
      type,
      created_at: createdAt.toISOString(),
      tenant: {
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        schema_name: tenant.schemaName,
        status: tenant.status,
        settings: tenant.settings,
      },
    },
    createdAt,
  });
}
