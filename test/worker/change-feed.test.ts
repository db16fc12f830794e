// The ChangeFeed Durable Object and the control plane's appends (DESIGN.md, Architecture principle 2): the
// `changes` rows every write commits, the feed's cursor being their seq, the answer waiting for the append.
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, test } from 'vitest';
import { changes, tenants } from '../../src/db/schema';
import { readColoRecord, storeColoRecord } from '../../src/edge/colo-cache';
import { setFeedAppenderForTests } from '../../src/edge/tenant-changed';
import { ChangeFeed } from '../../src/gate/change-feed';
import { advanceClock } from './clock';
import { api } from './control-client';
import { feed, hit, sleep } from './gate-helpers';
import { seedTenant, withDb } from './helpers';

afterEach(() => setFeedAppenderForTests());

type Entry = { seq: number; tenantId: string | null; version: number };
const ofTenant = (entries: Entry[], tenantId: string) => entries.filter((e) => e.tenantId === tenantId);

describe('changes and the ChangeFeed', () => {
  test('every committed version bump gets a `changes` row in commit order, also a delete', async () => {
    const t = await seedTenant();
    await withDb(async (db) => {
      await db
        .update(tenants)
        .set({ version: sql`${tenants.version} + 1` })
        .where(eq(tenants.id, t.tenantId));
      // A change that does not bump the version is not a change for the data plane.
      await db.update(tenants).set({ name: 'renamed' }).where(eq(tenants.id, t.tenantId));
      await db
        .transaction(async (tx) => {
          await tx
            .update(tenants)
            .set({ version: sql`${tenants.version} + 1` })
            .where(eq(tenants.id, t.tenantId));
          tx.rollback();
        })
        .catch(() => {});
      await db.delete(tenants).where(eq(tenants.id, t.tenantId));
    });
    const rows = await withDb((db) =>
      db.select().from(changes).where(eq(changes.tenantId, t.tenantId)).orderBy(changes.seq),
    );
    const versions = rows.map((r) => r.version);
    // Created at v1, bumped to v2, the rolled-back bump absent, deleted (named v3).
    expect(versions).toEqual([1, 2, 3]);
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => a - b));
  });

  test('a poll without a cursor takes the head; a poll with one gets the entries past it', async () => {
    const stub = feed();
    const first = await stub.poll(null);
    expect(first.covered).toBe(true);
    expect(first.entries).toEqual([]);
    const t = await seedTenant();
    const head = await stub.append();
    expect(head).toBeGreaterThan(first.cursor);
    const next = await stub.poll(first.cursor);
    // Other files write meanwhile: only this tenant's entries are this test's.
    expect(next.cursor).toBeGreaterThanOrEqual(head);
    expect(ofTenant(next.entries, t.tenantId).map((e) => e.version)).toEqual([1]);
    expect(next.entries.every((e) => e.seq > first.cursor)).toBe(true);
    expect(ofTenant((await stub.poll(head)).entries, t.tenantId)).toEqual([]);
  });

  test('a control write appends before it answers; its entry names the new version', async () => {
    const t = await seedTenant();
    const { cursor } = await feed().poll(null);
    const res = await api<{ version: number }>('PATCH', `/v1/tenants/${t.tenantId}`, {
      body: { name: 'Acme II' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-propagation')).toBeNull();
    // No read needed: the append already brought it.
    const { entries } = await feed().poll(cursor);
    const [version] = await withDb((db) =>
      db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, t.tenantId)),
    );
    expect(ofTenant(entries, t.tenantId).map((e) => e.version)).toContain(version.v);
  });

  test('an append the feed does not take within 1 s: the answer says X-Gateway-Propagation: delayed', async () => {
    const t = await seedTenant();
    setFeedAppenderForTests(
      () => new Promise((_, reject) => setTimeout(() => reject(new Error('feed down')), 1_500)),
    );
    const res = await api('PATCH', `/v1/tenants/${t.tenantId}`, { body: { name: 'Slow feed' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-propagation')).toBe('delayed');
  });

  test('a restarted feed answers from its own storage, with the same cursor meaning', async () => {
    const stub = feed();
    const { cursor } = await stub.poll(null);
    const t = await seedTenant();
    await stub.append();
    const answer = await runInDurableObject(stub, async (_instance: ChangeFeed, state) => {
      const restarted = new ChangeFeed(state, env);
      return restarted.poll(cursor);
    });
    expect(ofTenant(answer.entries, t.tenantId).map((e) => e.version)).toEqual([1]);
  });

  test('after a change, a tenant is reloaded from the colo cache by tenant and version, not from Postgres', async () => {
    const t = await seedTenant();
    expect((await hit(t)).status).toBe(200);
    // What this isolate loaded went to the colo cache under its version.
    const record = await readColoRecord(t.tenantId, 1);
    expect(record?.slug).toBe(t.slug);
    // Another isolate of the colo reloaded version 2 first and left it there (marked, to see which is used).
    await withDb((db) =>
      db
        .update(tenants)
        .set({ version: sql`${tenants.version} + 1` })
        .where(eq(tenants.id, t.tenantId)),
    );
    const marked = { ...record!, version: 2, schema_name: 'from_colo_cache' };
    storeColoRecord(marked, { waitUntil: () => {} });
    for (let i = 0; i < 50 && !(await readColoRecord(t.tenantId, 2)); i++) await sleep(10);
    await feed().append();
    advanceClock(1_100);
    const echo = (await (await hit(t)).json()) as { headers: Record<string, string> };
    expect(echo.headers['x-tenant-schema']).toBe('from_colo_cache');
  });

  test('a revoke answers only once the colo cache holds the new version, without the revoked key', async () => {
    const t = await seedTenant();
    expect((await hit(t)).status).toBe(200);
    expect((await readColoRecord(t.tenantId, 1))?.keys.map((k) => k.id)).toEqual([t.keyId]);
    const revoked = await api('DELETE', `/v1/tenants/${t.slug}/keys/${t.keyId}`);
    expect(revoked.status).toBe(204);
    expect(revoked.headers.get('x-gateway-propagation')).toBeNull();
    // No wait: the writer put it there before answering, so another isolate's reload reads no Postgres.
    const record = await readColoRecord(t.tenantId, 2);
    expect(record?.version).toBe(2);
    expect(record?.keys).toEqual([]);
  });
});
