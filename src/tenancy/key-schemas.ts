// The key resource as JSON (tenant and operator keys alike), and the row → JSON mapping.
import { z } from '@hono/zod-openapi';
import type { apiKeys } from '../db/schema';
import { RateLimitJson, Timestamp } from './shared-schemas';

export const KeySchema = z
  .object({
    id: z.string().openapi({ example: 'key_3kVb9QmL1xZ7pR2sT8wY' }),
    tenant_id: z.string().nullable().openapi({ description: 'null for operator keys' }),
    name: z.string(),
    prefix: z.string().openapi({ description: 'First 10 characters of the secret', example: 'gw_7Hk2pQx' }),
    scopes: z.array(z.string()),
    expires_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    rate_limit: RateLimitJson.nullable(),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable(),
  })
  .openapi('Key');

export function toKeyJson(row: typeof apiKeys.$inferSelect): z.infer<typeof KeySchema> {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expires_at: row.expiresAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    rate_limit: row.rateLimit,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}
