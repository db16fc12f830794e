import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { withTimeout } from '../core/time/timeout';
import { connectDatabase } from '../db/client';
import type { AppEnv } from '../env';
import { json, publicErrorResponses } from './openapi';

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    database: z.enum(['ok', 'unavailable']),
  })
  .openapi('Health');

const route = createRoute({
  method: 'get',
  path: '/v1/health',
  operationId: 'getHealth',
  tags: ['health'],
  summary: 'Gateway and database health',
  description: 'Answers 200 even when the database is down, with status `degraded`.',
  // Public: a load balancer asks it without a key.
  security: [],
  responses: { 200: json(HealthSchema, 'Health'), ...publicErrorResponses() },
});

const PROBE_TIMEOUT_MS = 3_000;

async function probeDatabase(env: AppEnv['Bindings']): Promise<boolean> {
  try {
    const conn = await connectDatabase(env);
    try {
      await withTimeout(conn.db.execute(sql`select 1`), PROBE_TIMEOUT_MS, () => new Error('timeout'));
      return true;
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

export function registerHealth(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const up = await probeDatabase(c.env);
    return c.json({ status: up ? 'ok' : 'degraded', database: up ? 'ok' : 'unavailable' } as const, 200);
  });
}
