import { sql } from 'drizzle-orm';
import { expect, test } from 'vitest';
import type { Database } from '../../src/db/client';
import { api, errorCode, newInstance } from './control-client';
import { unique, withDb } from './helpers';

/** Until a statement matching `like` waits on a row lock (another transaction holds it). */
async function untilWaitingOnLock(db: Database, like: string) {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const waiting = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike ${like}`,
    );
    if (Number(waiting.rows[0]?.n) > 0) return;
    await new Promise((done) => setTimeout(done, 20));
  }
  throw new Error(`no statement like ${like} waited on a lock within 10 s`);
}

test('the same slug created 20 times at once: exactly one 201, the rest 409 slug_conflict, no 5xx', async () => {
  const instance = await newInstance();
  const slug = unique('race');
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api('POST', '/v1/tenants', { body: { name: `Race ${i}`, slug, instance } }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  for (const a of answers.filter((x) => x.status === 409)) {
    expect((a.body as { error: { code: string } }).error.code).toBe('slug_conflict');
  }
  const list = await api<{ data: { slug: string }[] }>('GET', `/v1/tenants?q=${slug}`);
  expect(list.body.data.map((t) => t.slug)).toEqual([slug]);
});

test('20 creates at once on an instance with max_tenants 5: exactly 5 placed, 15 get 409 instance_full', async () => {
  const instance = await newInstance();
  await api('PATCH', `/v1/instances/${instance}`, { body: { max_tenants: 5 } });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api('POST', '/v1/tenants', { body: { name: unique(`Full ${i} `), instance } }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(5);
  expect(answers.filter((a) => a.status === 409 && errorCode(a) === 'instance_full')).toHaveLength(15);
  const got = await api<{ instance: { tenant_count: number } }>('GET', `/v1/instances/${instance}`);
  expect(got.body.instance.tenant_count).toBe(5);
});

test('a placement on an instance without a limit does not wait for another one in flight there', async () => {
  const instance = await newInstance();
  // A transaction holding what an unfinished placement holds (the row locked for share) until it commits:
  // a create on the same instance is answered meanwhile.
  const created = await withDb((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select id from instances where name = ${instance} for share`);
      return api('POST', '/v1/tenants', { body: { name: unique('Beside '), instance } });
    }),
  );
  expect(created.status).toBe(201);
});

test('a limit set while a placement waits for the instance is kept: counted after the lock, 409 instance_full', async () => {
  const instance = await newInstance();
  expect((await api('POST', '/v1/tenants', { body: { name: unique('First '), instance } })).status).toBe(201);
  // The instance's limit is being set (its row locked for update) when a create reads it without a limit:
  // the create waits for the row, then finds the limit, locks for update and counts.
  const second = await withDb((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`update instances set max_tenants = 1 where name = ${instance}`);
      const pending = api('POST', '/v1/tenants', { body: { name: unique('Second '), instance } });
      await withDb((watcher) => untilWaitingOnLock(watcher, '%for share%'));
      return { pending };
    }),
  );
  const answer = await second.pending;
  expect(answer.status).toBe(409);
  expect(errorCode(answer)).toBe('instance_full');
  const got = await api<{ instance: { tenant_count: number } }>('GET', `/v1/instances/${instance}`);
  expect(got.body.instance.tenant_count).toBe(1);
});
