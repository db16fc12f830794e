import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { events, tenants } from '../db/schema';
import type { AppEnv } from '../env';
import { useDatabase } from '../request-database';
import { EventStatusSchema, Timestamp } from '../tenancy/shared-schemas';
import { authenticate, operatorOnly } from './auth';
import { decodeCursor, invalidCursor, toPage } from './cursor';
import { errorResponses, json, PageQuery, page, paramText, security } from './openapi';

const EventSchema = z
  .object({
    id: z.string().openapi({ example: 'evt_5Jc1nWq8Rt0ZbX2yLm4P' }),
    type: z.string().openapi({ example: 'tenant.created' }),
    tenant_id: z.string(),
    instance_id: z.string().nullable().openapi({ description: 'The instance whose hooks_url it goes to' }),
    status: EventStatusSchema,
    attempts: z.number().int().openapi({ description: '0 when the instance had no hooks_url' }),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable().openapi({ description: 'Set while pending' }),
    created_at: Timestamp,
    delivered_at: Timestamp.nullable(),
    payload: z.unknown().openapi({ description: 'The body POSTed to the hook' }),
  })
  .openapi('Event');

function toEventJson(row: typeof events.$inferSelect): z.infer<typeof EventSchema> {
  return {
    id: row.id,
    type: row.type,
    tenant_id: row.tenantId,
    instance_id: row.instanceId,
    status: row.status,
    attempts: row.attempts,
    last_error: row.lastError,
    next_attempt_at: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    created_at: row.createdAt.toISOString(),
    delivered_at: row.deliveredAt?.toISOString() ?? null,
    payload: row.payload,
  };
}

const listRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  operationId: 'listEvents',
  tags: ['events'],
  summary: 'Lifecycle hook deliveries (newest first)',
  description:
    'Each event is POSTed to the hooks_url of the instance, in order per tenant, retried with backoff for ' +
    '24 h; then `failed` with its `last_error`.',
  security,
  middleware: [authenticate, operatorOnly],
  request: {
    query: PageQuery.extend({
      tenant: paramText(128).optional().openapi({ description: 'Tenant id or slug' }),
      status: EventStatusSchema.optional(),
    }),
  },
  responses: { 200: json(page(EventSchema, 'EventPage'), 'Events'), ...errorResponses() },
});

export function registerEvents(app: OpenAPIHono<AppEnv>) {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor, tenant, status } = c.req.valid('query');
    const db = await useDatabase(c);
    const conditions: SQL[] = [];
    const after = decodeCursor(cursor);
    if (after !== undefined) {
      if (!/^\d{1,15}$/.test(after)) throw invalidCursor();
      conditions.push(lt(events.seq, Number(after)));
    }
    if (status) conditions.push(eq(events.status, status));
    if (tenant !== undefined) {
      // A deleted tenant's events are still reachable by its id.
      const [found] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, tenant));
      conditions.push(eq(events.tenantId, found?.id ?? tenant));
    }
    const rows = await db
      .select()
      .from(events)
      .where(and(...conditions))
      .orderBy(desc(events.seq))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => String(row.seq), toEventJson),
      200,
    );
  });
}
