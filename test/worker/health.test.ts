import { env, exports } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { connectDatabase } from '../../src/db/client';

test('a query made inside workerd through @neondatabase/serverless reaches the database', async () => {
  const conn = await connectDatabase(env);
  try {
    const result = await conn.db.execute<{ slug: string; db: string }>(
      sql`select slug, current_database() as db from tenants where slug = 'public'`,
    );
    expect(result.rows).toEqual([{ slug: 'public', db: new URL(env.DATABASE_URL).pathname.slice(1) }]);
  } finally {
    await conn.close();
  }
});

test('GET /v1/health on the control host reads the database', async () => {
  const res = await exports.default.fetch('http://control.localhost/v1/health');
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  expect(await res.json()).toEqual({ status: 'ok', database: 'ok' });
});

test('health answers 200 degraded when the database cannot be reached', async () => {
  const app = (await import('../../src/app')).createApp();
  const res = await app.fetch(
    new Request('http://control.localhost/v1/health'),
    { ...env, DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:1/none' },
    { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext,
  );
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'degraded', database: 'unavailable' });
});

test('an unknown control route answers 404 in the error shape', async () => {
  const res = await exports.default.fetch('http://control.localhost/v1/nothing-here', {
    headers: { 'x-request-id': 'req-123' },
  });
  expect(res.status).toBe(404);
  expect(res.headers.get('x-request-id')).toBe('req-123');
  expect(await res.json()).toEqual({
    error: { code: 'not_found', message: 'No such route', request_id: 'req-123' },
  });
});
