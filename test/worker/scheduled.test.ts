import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inArray, sql } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { newId } from '../../src/core/crypto/ids';
import { usageBatches, usageFlushes } from '../../src/db/usage-schema';
import worker from '../../src/index';
import { withDb } from './helpers';

test('the cron trigger forgets usage flush ids older than a week and keeps recent ones', async () => {
  const old = newId('usg');
  const recent = newId('usg');
  await withDb((db) =>
    db.insert(usageFlushes).values([
      { id: old, tenantId: 'ten_gone', createdAt: sql`now() - interval '8 days'` },
      { id: recent, tenantId: 'ten_gone', createdAt: sql`now() - interval '6 days'` },
    ]),
  );
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
  const left = await withDb((db) =>
    db
      .select({ id: usageFlushes.id })
      .from(usageFlushes)
      .where(inArray(usageFlushes.id, [old, recent])),
  );
  expect(left.map((row) => row.id)).toEqual([recent]);
});

test('the cron trigger forgets usage batch ids (USAGE queue) older than a week and keeps recent ones', async () => {
  const old = newId('ub');
  const recent = newId('ub');
  await withDb((db) =>
    db.insert(usageBatches).values([
      { id: old, createdAt: sql`now() - interval '8 days'` },
      { id: recent, createdAt: sql`now() - interval '6 days'` },
    ]),
  );
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
  const left = await withDb((db) =>
    db
      .select({ id: usageBatches.id })
      .from(usageBatches)
      .where(inArray(usageBatches.id, [old, recent])),
  );
  expect(left.map((row) => row.id)).toEqual([recent]);
});
