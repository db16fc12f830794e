// The TenantGate Durable Object itself: snapshot versions, persistence across a restart, usage flushes.

import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { newId } from '../../src/core/crypto/ids';
import { emptyUsage, type LeaseRequest, USAGE_FIELDS, type UsageCounts } from '../../src/core/limits/lease';
import { utcDate } from '../../src/core/limits/windows';
import { tenants, usageDaily } from '../../src/db/schema';
import { writeUsageFlush } from '../../src/db/usage';
import { TenantGate } from '../../src/gate/tenant-gate';
import { api } from './control-client';
import { awayFromMinuteEnd, gate, limit, limitedTenant } from './gate-helpers';
import { seedTenant, withDb } from './helpers';

let seq = 0;
function leaseRequest(tenantId: string, knownVersion: number, over: Partial<LeaseRequest> = {}) {
  seq += 1;
  return {
    isolateId: 'test-isolate',
    seq,
    counters: [],
    reports: [],
    usage: null,
    tenantId,
    knownVersion,
    ...over,
  };
}

async function usageRow(tenantId: string) {
  const [row] = await withDb((db) =>
    db
      .select()
      .from(usageDaily)
      .where(and(eq(usageDaily.tenantId, tenantId), eq(usageDaily.date, utcDate(Date.now())))),
  );
  return row;
}

/** Today's row as the usage API shows it. */
async function usageApiDay(tenantId: string) {
  const today = utcDate(Date.now());
  const res = await api<{ days: Record<string, unknown>[] }>(
    'GET',
    `/v1/tenants/${tenantId}/usage?from=${today}&to=${today}`,
  );
  return res.body.days[0];
}

describe('TenantGate', () => {
  test('sends the tenant record only when the caller’s version differs, and re-reads it on refresh()', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const cold = await stub.lease(leaseRequest(t.tenantId, 0));
    expect(cold.record?.id).toBe(t.tenantId);
    const version = cold.lease.version;
    expect(cold.record?.version).toBe(version);
    const warm = await stub.lease(leaseRequest(t.tenantId, version));
    expect(warm.record).toBeUndefined();
    expect(warm.lease.version).toBe(version);

    await withDb((db) =>
      db
        .update(tenants)
        .set({ rateLimit: limit(9), version: sql`${tenants.version} + 1` })
        .where(eq(tenants.id, t.tenantId)),
    );
    expect(await stub.refresh(t.tenantId)).toBe(version + 1);
    const changed = await stub.lease(
      leaseRequest(t.tenantId, version, { counters: [{ id: 'tenant:minute', demandPerSecond: 1 }] }),
    );
    expect(changed.lease.version).toBe(version + 1);
    expect(changed.record?.rate_limit).toEqual(limit(9));
    expect(changed.lease.grants[0]).toMatchObject({ counter: 'tenant:minute', limit: 9 });
  });

  test('an isolate that read a newer version than the gate knows makes it catch up before answering', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const { lease } = await stub.lease(leaseRequest(t.tenantId, 0));
    await withDb((db) =>
      db
        .update(tenants)
        .set({ version: sql`${tenants.version} + 1` })
        .where(eq(tenants.id, t.tenantId)),
    );
    const answer = await stub.lease(leaseRequest(t.tenantId, lease.version + 1));
    expect(answer.lease.version).toBe(lease.version + 1);
    expect(answer.record).toBeUndefined();
  });

  test('a deleted tenant is answered with record null', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const { lease } = await stub.lease(leaseRequest(t.tenantId, 0));
    await withDb((db) => db.delete(tenants).where(eq(tenants.id, t.tenantId)));
    await stub.refresh(t.tenantId);
    expect((await stub.lease(leaseRequest(t.tenantId, lease.version))).record).toBeNull();
  });

  test('a restarted gate never grants again what it granted in the current window', async () => {
    const t = await limitedTenant({ rateLimit: limit(3) });
    await awayFromMinuteEnd();
    const stub = gate(t.tenantId);
    const want = [{ id: 'tenant:minute', demandPerSecond: 100 }];
    let granted = 0;
    for (let i = 0; i < 10; i++) {
      const { lease } = await stub.lease(leaseRequest(t.tenantId, 0, { counters: want }));
      granted += lease.grants[0].tokens;
    }
    expect(granted).toBe(3);
    // A new instance on the same storage, as after an eviction or a deploy.
    const again = await runInDurableObject(stub, async (_instance: TenantGate, state) => {
      const restarted = new TenantGate(state, env);
      return restarted.lease(leaseRequest(t.tenantId, 0, { counters: want }));
    });
    expect(again.lease.grants[0]).toMatchObject({ tokens: 0, remaining: 0, limit: 3 });
    expect(again.record?.id).toBe(t.tenantId);
  });

  test('usage riding on lease calls is flushed by the alarm into usage_daily, once', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const days = {
      [utcDate(Date.now())]: { ...emptyUsage(), requests: 5, allowed: 4, rate_limited: 1, bytes_out: 99 },
    };
    const first = leaseRequest(t.tenantId, 0, { isolateId: 'iso-a', usage: { seq: 1, days } });
    await stub.lease(first);
    // The same batch again (a lease call whose answer was lost) is not counted twice.
    await stub.lease({ ...first, seq: first.seq + 1 });
    expect((await stub.stats()).alarmAt).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await usageRow(t.tenantId)).toMatchObject({
      requests: 5,
      allowed: 4,
      rateLimited: 1,
      bytesOut: 99,
    });
    const stats = await stub.stats();
    expect(stats.flushes).toBe(1);
    expect(stats.unflushed).toBe(false);
    // Nothing new: another alarm writes nothing.
    await runDurableObjectAlarm(stub);
    expect(await usageRow(t.tenantId)).toMatchObject({ requests: 5 });
  });
});

describe('writeUsageFlush', () => {
  test('adds every counter to the day’s row; a flush written twice (a lost commit, retried) counts once', async () => {
    const t = await seedTenant();
    const date = utcDate(Date.now());
    // A different value per field, so a counter written to the wrong column or not at all shows.
    const counts = Object.fromEntries(USAGE_FIELDS.map((field, i) => [field, i + 1])) as UsageCounts;
    const flush = { id: newId('usg'), tenantId: t.tenantId, days: { [date]: counts } };
    await withDb((db) => writeUsageFlush(db, flush));
    await withDb((db) => writeUsageFlush(db, flush));
    expect(await usageApiDay(t.tenantId)).toEqual({ date, ...counts });
    await withDb((db) => writeUsageFlush(db, { ...flush, id: newId('usg') }));
    const doubled = Object.fromEntries(USAGE_FIELDS.map((field) => [field, counts[field] * 2]));
    expect(await usageApiDay(t.tenantId)).toEqual({ date, ...doubled });
  });

  test('usage of a tenant deleted meanwhile is dropped, not retried forever', async () => {
    const t = await seedTenant();
    await withDb((db) => db.delete(tenants).where(eq(tenants.id, t.tenantId)));
    const flush = {
      id: newId('usg'),
      tenantId: t.tenantId,
      days: { [utcDate(Date.now())]: { ...emptyUsage(), requests: 1 } },
    };
    await expect(withDb((db) => writeUsageFlush(db, flush))).resolves.toBeUndefined();
    expect(await usageRow(t.tenantId)).toBeUndefined();
  });
});
