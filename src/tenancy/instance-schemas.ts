// The instance resource as JSON, the row → JSON mapping, and the upstreams' schema, which a tenant's own
// `upstream` shares.
import { z } from '@hono/zod-openapi';
import { DEFAULT_TIMEOUT_MS } from '../db/column-types';
import type { InstanceView } from '../db/instances';
import type { instances } from '../db/schema';
import { columns, Timestamp } from './shared-schemas';

export { DEFAULT_TIMEOUT_MS };

/** An instance's (or a tenant's own) upstream URLs; the URL rules are checked after it (control/instances). */
export const Upstreams = columns.Upstreams;
export const TimeoutMs = columns.TimeoutMs;

const InstanceServiceJson = z
  .object({ upstreams: z.array(z.string()), timeout_ms: z.number().int() })
  .openapi('InstanceService');

export const InstanceSchema = z
  .object({
    id: z.string().openapi({ example: 'ins_4Xb0PqL2mZ8rT1vW9yKc' }),
    name: z.string().openapi({ example: 'instance1' }),
    upstreams: z.array(z.string()).openapi({ description: 'The `default` service' }),
    timeout_ms: z.number().int(),
    services: z.record(z.string(), InstanceServiceJson).openapi({
      description: 'Its other services by name (`gui`, `api`, …), each reached on the base domains naming it',
      example: { gui: { upstreams: ['https://gui.internal.example.com'], timeout_ms: 30000 } },
    }),
    hooks_url: z.string().nullable(),
    max_tenants: z.number().int().nullable().openapi({ description: 'null = no limit' }),
    draining: z.boolean().openapi({ description: 'Takes no new tenants; those placed on it stay' }),
    tenant_count: z.number().int().openapi({ description: 'Tenants placed on it (home or not)' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Instance');

type InstanceJson = z.infer<typeof InstanceSchema>;
type InstanceRow = typeof instances.$inferSelect;

/** An instance's own fields, without its tenant count: for its audit rows and config diffs. */
export function instanceFields(row: InstanceRow): Omit<InstanceJson, 'tenant_count'> {
  return {
    id: row.id,
    name: row.name,
    upstreams: row.upstreams,
    timeout_ms: row.timeoutMs,
    services: row.services,
    hooks_url: row.hooksUrl,
    max_tenants: row.maxTenants,
    draining: row.draining,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** An instance as answered. */
export function toInstanceJson(view: InstanceView): InstanceJson {
  const { created_at, updated_at, ...fields } = instanceFields(view.instance);
  return { ...fields, tenant_count: view.tenantCount, created_at, updated_at };
}
