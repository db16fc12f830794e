// The USAGE queue (DESIGN.md principle 2, "Usage"): the isolate's batch sent to the real Miniflare queue and
// its consumer, the worker's own queue(), writing each delivery once into usage_daily and usage_key_daily.
import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { MAX_MESSAGE_BYTES, type UsageMessage } from '../../src/core/usage/usage-batch';
import { tenants } from '../../src/db/schema';
import { usageKeyDaily } from '../../src/db/usage-schema';
import { countUsage, sendUsageNow } from '../../src/edge/usage-batch';
import type { Bindings } from '../../src/env';
import { newKey } from './control-client';
import { hit, usageReaches, usageTotals } from './gate-helpers';
import { seedTenant, withDb } from './helpers';
import { batchRecorded, deliver, keyRows, today, usageMessage } from './usage-helpers';

type Sent = { message: UsageMessage; bytes: number };

/**
 * The real USAGE queue, with what each send carried written down; `loseAnswers` sends fail after the queue
 * took the message (an answer lost on the way back), so the isolate must send the same message again.
 */
function recordingQueue(opts: { loseAnswers?: number } = {}) {
  const sent: Sent[] = [];
  let toLose = opts.loseAnswers ?? 0;
  const queue = {
    send: async (message: UsageMessage, options?: QueueSendOptions) => {
      sent.push({ message, bytes: new TextEncoder().encode(JSON.stringify(message)).byteLength });
      await env.USAGE.send(message, options);
      if (toLose-- > 0) throw new Error('the answer was lost');
    },
  };
  return { env: { USAGE: queue as unknown as Bindings['USAGE'] }, sent };
}

const noWait = { waitUntil: () => {} };

describe('the USAGE queue', () => {
  test('a redelivered message counts once, and so does one sent twice through the queue', async () => {
    const t = await seedTenant();
    const counts = { requests: 2, allowed: 2, status_2xx: 2, bytes_out: 7 };
    const message = usageMessage([{ tenant: t.tenantId, key: t.keyId, date: today(), counts }]);
    for (let i = 0; i < 2; i++) expect((await deliver([message], { attempts: i + 1 })).ackAll).toBe(true);
    // The same message twice in one delivery too.
    expect((await deliver([message, message])).ackAll).toBe(true);
    expect(await usageTotals(t.tenantId)).toMatchObject(counts);
    expect(await usageTotals(t.tenantId, t.keyId)).toMatchObject(counts);

    const other = await seedTenant();
    const twice = usageMessage([{ tenant: other.tenantId, key: null, date: today(), counts }]);
    await env.USAGE.send(twice, { contentType: 'json' });
    await env.USAGE.send(twice, { contentType: 'json' });
    expect(await usageReaches(other.tenantId, counts)).toMatchObject(counts);
    // A later delivery of anything else has been written after both copies: still counted once.
    const marker = usageMessage([
      { tenant: other.tenantId, key: null, date: today(), counts: { bytes_in: 1 } },
    ]);
    await env.USAGE.send(marker, { contentType: 'json' });
    expect(await usageReaches(other.tenantId, { ...counts, bytes_in: 1 })).toMatchObject({ requests: 2 });
  });

  test("an isolate's failed send keeps its id and rows: sent again, it is counted once", async () => {
    const t = await seedTenant();
    const queue = recordingQueue({ loseAnswers: 1 });
    countUsage(queue.env, noWait, { tenantId: t.tenantId, keyId: t.keyId }, { requests: 1, allowed: 1 });
    countUsage(queue.env, noWait, { tenantId: t.tenantId, keyId: null }, { requests: 1, unauthorized: 1 });
    expect(await sendUsageNow(queue.env)).toBe(false);
    expect(await sendUsageNow(queue.env)).toBe(true);
    const mine = queue.sent.filter(({ message }) => message.rows.some((row) => row.tenant === t.tenantId));
    expect(mine).toHaveLength(2);
    expect(mine[1].message).toEqual(mine[0].message);
    const expected = { requests: 2, allowed: 1, unauthorized: 1 };
    expect(await usageReaches(t.tenantId, expected)).toMatchObject(expected);
    expect(await batchRecorded(mine[0].message.id)).toBe(true);
    // Nothing more arrives later: a fresh count goes under a new id and adds only itself.
    countUsage(queue.env, noWait, { tenantId: t.tenantId, keyId: null }, { requests: 1 });
    expect(await usageReaches(t.tenantId, { requests: 3 })).toMatchObject({ ...expected, requests: 3 });
  });

  test('two tenants and their keys in one delivery land in their own rows', async () => {
    const a = await seedTenant();
    const b = await seedTenant();
    const second = await newKey(a.tenantId, ['proxy:read']);
    for (let i = 0; i < 3; i++) expect((await hit(a)).status).toBe(200);
    expect((await hit(a, '/status/404', { key: second.secret })).status).toBe(404);
    expect((await hit(a, '/x', { key: null })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await hit(b, '/status/503')).status).toBe(503);
    // All of it in this isolate's batch, sent as one message: one delivery.
    const aKey = { requests: 3, allowed: 3, status_2xx: 3, status_4xx: 0 };
    expect(await usageReaches(a.tenantId, aKey, 15_000, a.keyId)).toMatchObject(aKey);
    const aSecond = { requests: 1, allowed: 1, status_2xx: 0, status_4xx: 1 };
    expect(await usageReaches(a.tenantId, aSecond, 15_000, second.key.id)).toMatchObject(aSecond);
    const aAll = { requests: 5, allowed: 4, unauthorized: 1, status_2xx: 3, status_4xx: 2 };
    expect(await usageReaches(a.tenantId, aAll)).toMatchObject(aAll);
    const bAll = { requests: 2, allowed: 2, status_5xx: 2, status_2xx: 0 };
    expect(await usageReaches(b.tenantId, bAll)).toMatchObject(bAll);
    expect(await usageTotals(b.tenantId, b.keyId)).toMatchObject(bAll);

    // Two messages of one delivery, rows of both tenants interleaved: merged into the same rows.
    const date = today();
    const delivered = await deliver([
      usageMessage([
        { tenant: b.tenantId, key: b.keyId, date, counts: { bytes_in: 5 } },
        { tenant: a.tenantId, key: second.key.id, date, counts: { bytes_in: 7 } },
      ]),
      usageMessage([
        { tenant: a.tenantId, key: null, date, counts: { bytes_in: 11 } },
        { tenant: b.tenantId, key: b.keyId, date, counts: { bytes_in: 13 } },
      ]),
    ]);
    expect(delivered.ackAll).toBe(true);
    expect(await usageTotals(a.tenantId)).toMatchObject({ ...aAll, bytes_in: 18 });
    expect(await usageTotals(a.tenantId, second.key.id)).toMatchObject({ ...aSecond, bytes_in: 7 });
    expect(await usageTotals(a.tenantId, a.keyId)).toMatchObject({ ...aKey, bytes_in: 0 });
    expect(await usageTotals(b.tenantId, b.keyId)).toMatchObject({ ...bAll, bytes_in: 18 });
  });

  test('a batch over 128 KB goes as several messages, each within it, every row counted', async () => {
    const t = await seedTenant();
    const queue = recordingQueue();
    const keys = Array.from({ length: 1_500 }, (_, i) => `key_split${String(i).padStart(6, '0')}`);
    for (const keyId of keys) {
      countUsage(queue.env, noWait, { tenantId: t.tenantId, keyId }, { requests: 1, bytes_out: 1_000_000 });
    }
    expect(await sendUsageNow(queue.env)).toBe(true);
    const mine = queue.sent.filter(({ message }) => message.rows.some((row) => row.tenant === t.tenantId));
    expect(mine.length).toBeGreaterThan(1);
    for (const { bytes } of mine) expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(new Set(mine.map(({ message }) => message.id)).size).toBe(mine.length);
    const expected = { requests: 1_500, bytes_out: 1_500_000_000 };
    expect(await usageReaches(t.tenantId, expected)).toMatchObject(expected);
    const [stored] = await withDb((db) =>
      db
        .select({ rows: sql<number>`count(*)::int` })
        .from(usageKeyDaily)
        .where(eq(usageKeyDaily.tenantId, t.tenantId)),
    );
    expect(stored.rows).toBe(1_500);
    expect(await keyRows(t.tenantId, keys[1_499])).toMatchObject([{ requests: 1, bytesOut: 1_000_000 }]);
  });

  test('concurrent deliveries over the same rows, in opposite orders, all commit (no deadlock) and add up', async () => {
    const seeded = await Promise.all([seedTenant(), seedTenant(), seedTenant()]);
    const rows = seeded.flatMap((t) => [
      { tenant: t.tenantId, key: t.keyId, date: today(), counts: { requests: 1 } },
      { tenant: t.tenantId, key: null, date: today(), counts: { requests: 1 } },
    ]);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => deliver([usageMessage(i % 2 ? [...rows].reverse() : rows)])),
    );
    expect(results.map((r) => r.ackAll)).toEqual(Array(8).fill(true));
    for (const t of seeded) {
      expect(await usageTotals(t.tenantId)).toMatchObject({ requests: 16 });
      expect(await usageTotals(t.tenantId, t.keyId)).toMatchObject({ requests: 8 });
    }
  });

  test("a deleted tenant's usage is dropped; the rest of its delivery is written", async () => {
    const gone = await seedTenant();
    const kept = await seedTenant();
    await withDb((db) => db.delete(tenants).where(eq(tenants.id, gone.tenantId)));
    const message = usageMessage([
      { tenant: gone.tenantId, key: gone.keyId, date: today(), counts: { requests: 4 } },
      { tenant: kept.tenantId, key: kept.keyId, date: today(), counts: { requests: 2 } },
    ]);
    expect((await deliver([message])).ackAll).toBe(true);
    expect(await usageTotals(kept.tenantId, kept.keyId)).toMatchObject({ requests: 2 });
    expect(await keyRows(gone.tenantId, gone.keyId)).toEqual([]);
  });

  test('the dead-letter queue is consumed by the same handler; what is not ours is skipped, the rest counted', async () => {
    const t = await seedTenant();
    const message = usageMessage([{ tenant: t.tenantId, key: null, date: today(), counts: { requests: 3 } }]);
    const malformed = { v: 1, id: 'ub_bad', rows: [{ tenant: t.tenantId, counts: { requests: 100 } }] };
    const batch = await deliver([message, malformed as unknown as UsageMessage], {
      queue: 'gateway-usage-dlq',
      attempts: 3,
    });
    expect(batch.ackAll).toBe(true);
    expect(await usageTotals(t.tenantId)).toMatchObject({ requests: 3 });
    // A delivery of a queue this worker does not consume is kept for later, never acknowledged.
    const unknown = await deliver([message], { queue: 'some-other-queue' });
    expect(unknown.ackAll).toBe(false);
    expect(unknown.retryBatch.retry).toBe(true);
    expect(await usageTotals(t.tenantId)).toMatchObject({ requests: 3 });
  });
});
