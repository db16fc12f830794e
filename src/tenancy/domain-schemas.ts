// The custom domain resource as JSON, the query that reads it, and the row → JSON mapping.
import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { DEFAULT_SERVICE } from '../core/http/host';
import { domains } from '../db/schema';
import { Timestamp } from './shared-schemas';

export const DomainSchema = z
  .object({
    hostname: z.string().openapi({ example: 'api.acme.com' }),
    tenant_id: z.string(),
    instance: z
      .string()
      .nullable()
      .openapi({ description: "Instance it is served from; null = the tenant's home" }),
    service: z.string().openapi({
      description: 'The instance’s service it reaches (`default`: its own upstreams)',
      example: 'api',
    }),
    created_at: Timestamp,
  })
  .openapi('Domain');

/** The columns of a domain's view: its instance by name. */
export function selectDomains() {
  return {
    hostname: domains.hostname,
    tenantId: domains.tenantId,
    createdAt: domains.createdAt,
    instance: sql<string | null>`(select i.name from instances i where i.id = domains.instance_id)`,
    service: domains.service,
  };
}

export type DomainRow = {
  hostname: string;
  tenantId: string;
  createdAt: Date;
  instance: string | null;
  /** Null: `default`. */
  service: string | null;
};

export function toDomainJson(row: DomainRow): z.infer<typeof DomainSchema> {
  return {
    hostname: row.hostname,
    tenant_id: row.tenantId,
    instance: row.instance,
    service: row.service ?? DEFAULT_SERVICE,
    created_at: row.createdAt.toISOString(),
  };
}
