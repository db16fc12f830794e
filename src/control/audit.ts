import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { auditLog, tenants } from '../db/schema';
import type { AppEnv } from '../env';
import { useDatabase } from '../request-database';
import { Timestamp } from '../tenancy/shared-schemas';
import { authenticate, operatorOnly } from './auth';
import { decodeCursor, invalidCursor, toPage } from './cursor';
import { errorResponses, json, PageQuery, page, paramText, security } from './openapi';

const AuditEventSchema = z
  .object({
    id: z.string(),
    at: Timestamp,
    actor: z.string().openapi({ description: '`admin` (ADMIN_API_KEY) or the id of the key used' }),
    tenant_id: z.string().nullable(),
    resource: z.string(),
    resource_id: z.string(),
    action: z.string(),
    before: z.unknown().openapi({ description: 'The resource before the change; secrets never appear' }),
    after: z.unknown(),
    request_id: z.string().nullable(),
  })
  .openapi('AuditEvent');

function toAuditJson(row: typeof auditLog.$inferSelect): z.infer<typeof AuditEventSchema> {
  return {
    id: String(row.id),
    at: row.at.toISOString(),
    actor: row.actor,
    tenant_id: row.tenantId,
    resource: row.resource,
    resource_id: row.resourceId,
    action: row.action,
    before: row.before,
    after: row.after,
    request_id: row.requestId,
  };
}

const listRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  operationId: 'listAudit',
  tags: ['audit'],
  summary: 'Who changed what, when (newest first)',
  security,
  middleware: [authenticate, operatorOnly],
  request: {
    query: PageQuery.extend({
      tenant: paramText(128).optional().openapi({ description: 'Tenant id or slug' }),
    }),
  },
  responses: { 200: json(page(AuditEventSchema, 'AuditEventPage'), 'Audit events'), ...errorResponses() },
});

export function registerAudit(app: OpenAPIHono<AppEnv>) {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor, tenant } = c.req.valid('query');
    const db = await useDatabase(c);
    const conditions: SQL[] = [];
    const after = decodeCursor(cursor);
    if (after !== undefined) {
      if (!/^\d{1,15}$/.test(after)) throw invalidCursor();
      conditions.push(lt(auditLog.id, Number(after)));
    }
    if (tenant !== undefined) {
      // A deleted tenant's trail is still reachable by its id.
      const [found] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, tenant));
      conditions.push(eq(auditLog.tenantId, found?.id ?? tenant));
    }
    const rows = await db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => String(row.id), toAuditJson),
      200,
    );
  });
}
