// The instance resource as JSON, the row → JSON mapping, and the upstreams' schema, which a tenant's own
// `upstream` shares.
import { z } from '@hono/zod-openapi';
import { DEFAULT_TIMEOUT_MS } from '../db/column-types';
import type { instances } from '../db/schema';
import { columns, Timestamp } from './shared-schemas';

export { DEFAULT_TIMEOUT_MS };

/** An instance's (or a tenant's own) upstream URLs; the URL rules are checked after it (control/instances). */
export const Upstreams = columns.Upstreams;
export const TimeoutMs = columns.TimeoutMs;

export const InstanceSchema = z
  .object({
    id: z.string().openapi({ example: 'ins_4Xb0PqL2mZ8rT1vW9yKc' }),
    name: z.string().openapi({ example: 'instance1' }),
    upstreams: z.array(z.string()),
    timeout_ms: z.number().int(),
    hooks_url: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Instance');

type InstanceJson = z.infer<typeof InstanceSchema>;

export function toInstanceJson(row: typeof instances.$inferSelect): InstanceJson {
  return {
    id: row.id,
    name: row.name,
    upstreams: row.upstreams,
    timeout_ms: row.timeoutMs,
    hooks_url: row.hooksUrl,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
