import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, between, eq } from 'drizzle-orm';
import { now as clockNow } from '../core/time/clock';
import { usageDaily } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { authenticate, tenantFor } from './auth';
import { errorResponses, json, security, TenantParam } from './openapi';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;

const counters = {
  requests: z.number().int(),
  allowed: z.number().int(),
  rate_limited: z.number().int(),
  quota_exceeded: z.number().int(),
  unauthorized: z.number().int(),
  status_2xx: z.number().int(),
  status_3xx: z.number().int(),
  status_4xx: z.number().int(),
  status_5xx: z.number().int(),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
};

type Counters = { [K in keyof typeof counters]: number };

const UsageDaySchema = z
  .object({ date: z.string().openapi({ example: '2026-04-20' }), ...counters })
  .openapi('UsageDay');

const UsageSchema = z
  .object({
    tenant_id: z.string(),
    from: z.string(),
    to: z.string(),
    totals: z.object(counters).openapi('UsageTotals'),
    days: z
      .array(UsageDaySchema)
      .openapi({ description: 'Every day from `from` to `to`; days without traffic are zero' }),
  })
  .openapi('Usage');

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

function zero(): Counters {
  return {
    requests: 0,
    allowed: 0,
    rate_limited: 0,
    quota_exceeded: 0,
    unauthorized: 0,
    status_2xx: 0,
    status_3xx: 0,
    status_4xx: 0,
    status_5xx: 0,
    bytes_in: 0,
    bytes_out: 0,
  };
}

function toCounters(row: typeof usageDaily.$inferSelect): Counters {
  return {
    requests: row.requests,
    allowed: row.allowed,
    rate_limited: row.rateLimited,
    quota_exceeded: row.quotaExceeded,
    unauthorized: row.unauthorized,
    status_2xx: row.status2xx,
    status_3xx: row.status3xx,
    status_4xx: row.status4xx,
    status_5xx: row.status5xx,
    bytes_in: row.bytesIn,
    bytes_out: row.bytesOut,
  };
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

export function registerUsage(app: OpenAPIHono<AppEnv>) {
  app.openapi(usageRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const range = dateRange(c.req.valid('query'), clockNow());
    const db = await useDatabase(c);
    const rows = await db
      .select()
      .from(usageDaily)
      .where(and(eq(usageDaily.tenantId, tenant.id), between(usageDaily.date, range.from, range.to)))
      .orderBy(asc(usageDaily.date));
    const byDate = new Map(rows.map((row) => [row.date, toCounters(row)]));
    const totals = zero();
    const days = [];
    const start = Date.parse(`${range.from}T00:00:00Z`);
    for (let i = 0; i < range.days; i++) {
      const date = toDate(start + i * DAY_MS);
      const day = byDate.get(date) ?? zero();
      for (const k of Object.keys(totals) as (keyof Counters)[]) totals[k] += day[k];
      days.push({ date, ...day });
    }
    return c.json({ tenant_id: tenant.id, from: range.from, to: range.to, totals, days }, 200);
  });
}
