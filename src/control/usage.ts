import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { now as clockNow } from '../core/time/clock';
import { apiKeys } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { busiestTenants, keyUsage, tenantUsage } from '../usage/reads';
import { authenticate, notFound, operatorOnly, tenantFor } from './auth';
import { decodeCursor, invalidCursor, toPage } from './cursor';
import { errorResponses, json, PageQuery, paramText, security, TenantParam } from './openapi';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;

const counters = {
  requests: z.number().int(),
  allowed: z.number().int(),
  rate_limited: z.number().int(),
  quota_exceeded: z.number().int(),
  would_limit: z.number().int().openapi({ description: 'Would have been refused by a limit in shadow mode' }),
  unauthorized: z.number().int(),
  status_2xx: z.number().int(),
  status_3xx: z.number().int(),
  status_4xx: z.number().int(),
  status_5xx: z.number().int(),
  backend_4xx: z.number().int(),
  backend_5xx: z.number().int(),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
};

const UsageTotalsSchema = z.object(counters).openapi('UsageTotals');

const UsageDaySchema = z
  .object({ date: z.string().openapi({ example: '2026-04-20' }), ...counters })
  .openapi('UsageDay');

const usagePeriod = {
  from: z.string(),
  to: z.string(),
  totals: UsageTotalsSchema,
  days: z
    .array(UsageDaySchema)
    .openapi({ description: 'Every day from `from` to `to`; days without traffic are zero' }),
};

const UsageSchema = z.object({ tenant_id: z.string(), ...usagePeriod }).openapi('Usage');

const KeyUsageSchema = z
  .object({ tenant_id: z.string(), key_id: z.string(), ...usagePeriod })
  .openapi('KeyUsage');

const UtcDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC date, YYYY-MM-DD')
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && toDate(Date.parse(`${d}T00:00:00Z`)) === d,
    'not a date',
  )
  .openapi({ example: '2026-04-20' });

function toDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `from`..`to` as UTC dates: default the last 30 days up to today; at most 366 days, from ≤ to. */
function dateRange(
  query: { from?: string; to?: string },
  now: number,
): { from: string; to: string; days: number } {
  const toMs = query.to ? Date.parse(`${query.to}T00:00:00Z`) : Date.parse(`${toDate(now)}T00:00:00Z`);
  const fromMs = query.from ? Date.parse(`${query.from}T00:00:00Z`) : toMs - (DEFAULT_DAYS - 1) * DAY_MS;
  const days = Math.round((toMs - fromMs) / DAY_MS) + 1;
  if (days < 1) throw invalidRange('from', 'from must not be after to');
  if (days > MAX_DAYS) throw invalidRange('from', `at most ${MAX_DAYS} days at once`);
  return { from: toDate(fromMs), to: toDate(toMs), days };
}

function invalidRange(path: string, message: string) {
  return new ApiError('validation_failed', 'The request is not valid', [{ path, message }]);
}

const usageRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/usage',
  operationId: 'getTenantUsage',
  tags: ['usage'],
  summary: "A tenant's daily usage",
  description: 'UTC dates, inclusive; default the last 30 days; at most 366 days. Counts appear within 15 s.',
  security,
  middleware: [authenticate],
  request: {
    params: TenantParam,
    query: z.object({ from: UtcDate.optional(), to: UtcDate.optional() }),
  },
  responses: { 200: json(UsageSchema, 'Usage'), ...errorResponses(404) },
});

const keyUsageRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/keys/{id}/usage',
  operationId: 'getKeyUsage',
  tags: ['usage'],
  summary: "One key's daily usage",
  description:
    'The requests made with this key (its refusals by the limiter included), per UTC day, inclusive; default ' +
    'the last 30 days; at most 366 days. Counts appear within 15 s.',
  security,
  middleware: [authenticate],
  request: {
    params: TenantParam.extend({
      id: paramText(64, 1).openapi({
        param: { name: 'id', in: 'path' },
        example: 'key_3kVb9QmL1xZ7pR2sT8wY',
      }),
    }),
    query: z.object({ from: UtcDate.optional(), to: UtcDate.optional() }),
  },
  responses: { 200: json(KeyUsageSchema, 'Usage of the key'), ...errorResponses(404) },
});

const TenantTotalsSchema = z
  .object({
    tenant_id: z.string(),
    slug: z.string().nullable().openapi({ description: 'Null once the tenant was deleted' }),
    totals: UsageTotalsSchema,
  })
  .openapi('TenantUsageTotals');

const allUsageRoute = createRoute({
  method: 'get',
  path: '/v1/usage',
  operationId: 'listUsageByTenant',
  tags: ['usage'],
  summary: "Every tenant's usage totals, busiest first",
  description:
    'One row per tenant that counted anything from `from` to `to` (UTC dates, inclusive; default the last 30 ' +
    'days; at most 366), most requests first, ties by tenant id. For dashboards and billing exports. Operators only.',
  security,
  middleware: [authenticate, operatorOnly],
  request: { query: PageQuery.extend({ from: UtcDate.optional(), to: UtcDate.optional() }) },
  responses: {
    200: json(
      z
        .object({
          from: z.string(),
          to: z.string(),
          data: z.array(TenantTotalsSchema),
          next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page' }),
        })
        .openapi('TenantUsagePage'),
      'Usage by tenant',
    ),
    ...errorResponses(403),
  },
});

/** A page's last row as the cursor's key: its requests and tenant id. */
function busiestAfter(cursor: string | undefined) {
  const key = decodeCursor(cursor);
  if (key === undefined) return undefined;
  const match = /^(\d{1,15}):(.{1,64})$/.exec(key);
  if (!match) throw invalidCursor();
  return { requests: Number(match[1]), tenantId: match[2] };
}

export function registerUsage(app: OpenAPIHono<AppEnv>) {
  app.openapi(allUsageRoute, async (c) => {
    const { limit, cursor, ...query } = c.req.valid('query');
    const range = dateRange(query, clockNow());
    const rows = await busiestTenants(await useDatabase(c), range, limit, busiestAfter(cursor));
    const listed = toPage(
      rows,
      limit,
      (row) => `${row.totals.requests}:${row.tenantId}`,
      (row) => ({ tenant_id: row.tenantId, slug: row.slug, totals: row.totals }),
    );
    return c.json({ ...listed, from: range.from, to: range.to }, 200);
  });

  app.openapi(usageRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const range = dateRange(c.req.valid('query'), clockNow());
    const { totals, days } = await tenantUsage(await useDatabase(c), tenant.id, range);
    return c.json({ tenant_id: tenant.id, from: range.from, to: range.to, totals, days }, 200);
  });

  app.openapi(keyUsageRoute, async (c) => {
    const params = c.req.valid('param');
    const tenant = await tenantFor(c, params.tenant, { tenantAdmin: true });
    const range = dateRange(c.req.valid('query'), clockNow());
    const db = await useDatabase(c);
    // A key of another tenant is no key of this one.
    const [key] = await db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, params.id), eq(apiKeys.tenantId, tenant.id)));
    if (!key) throw notFound('key');
    const { totals, days } = await keyUsage(db, tenant.id, key.id, range);
    return c.json(
      { tenant_id: tenant.id, key_id: key.id, from: range.from, to: range.to, totals, days },
      200,
    );
  });
}
