// The TenantGate Durable Object itself: limits with their versions, persistence across a restart, and the
// usage flushes kept for a rolling deploy from the earlier release.

import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { newId } from '../../src/core/crypto/ids';
import { utcDate } from '../../src/core/limits/windows';
import { emptyUsage, USAGE_FIELDS, type UsageCounts } from '../../src/core/usage/usage-counts';
import { tenants } from '../../src/db/schema';
import { writeUsageFlush } from '../../src/db/usage';
import { usageDaily } from '../../src/db/usage-schema';
import type { GateLeaseRequest } from '../../src/gate/lease-wire';
import { TenantGate } from '../../src/gate/tenant-gate';
import { now } from './clock';
import { api } from './control-client';
import { awayFromMinuteEnd, gate, limit, limitedTenant } from './gate-helpers';
import { seedTenant, withDb } from './helpers';

let seq = 0;
function leaseRequest(
  tenantId: string,
  version: number,
  over: Partial<GateLeaseRequest> = {},
): GateLeaseRequest {
  seq += 1;
  return {
    isolateId: 'test-isolate',
    seq,
    version,
    counters: [],
    reports: [],
    usage: null,
    tenantId,
    ...over,
  };
}

const minute = (limit: number, demandPerSecond = 100) => [
  { id: 'tenant:minute', kind: 'minute' as const, limit, demandPerSecond },
];

async function usageRow(tenantId: string) {
  const [row] = await withDb((db) =>
    db
      .select()
      .from(usageDaily)
      .where(and(eq(usageDaily.tenantId, tenantId), eq(usageDaily.date, utcDate(now())))),
  );
  return row;
}

/** Today's row as the usage API shows it. */
async function usageApiDay(tenantId: string) {
  const today = utcDate(now());
  const res = await api<{ days: Record<string, unknown>[] }>(
    'GET',
    `/v1/tenants/${tenantId}/usage?from=${today}&to=${today}`,
  );
  return res.body.days[0];
}

describe('TenantGate', () => {
  test('limits travel with the calls: the newest snapshot version’s limit wins, also for an older caller', async () => {
    const t = await seedTenant();
    await awayFromMinuteEnd();
    const stub = gate(t.tenantId);
    const first = await stub.lease(leaseRequest(t.tenantId, 4, { counters: minute(100, 1) }));
    expect(first.grants[0]).toMatchObject({ counter: 'tenant:minute', limit: 100 });
    const lowered = await stub.lease(leaseRequest(t.tenantId, 5, { counters: minute(9, 1) }));
    expect(lowered.grants[0]).toMatchObject({ limit: 9 });
    expect(lowered.version).toBe(5);
    // An isolate still on version 4 is answered with the limit of version 5.
    const stale = await stub.lease(leaseRequest(t.tenantId, 4, { counters: minute(100, 1) }));
    expect(stale.grants[0]).toMatchObject({ limit: 9 });
    expect(stale.version).toBe(5);
  });

  test('a grant is at most a quarter of what the window has left, valid until min(window end, 30 s)', async () => {
    const t = await seedTenant();
    await awayFromMinuteEnd(35_000);
    const stub = gate(t.tenantId);
    const { grants } = await stub.lease(leaseRequest(t.tenantId, 1, { counters: minute(100, 1_000) }));
    expect(grants[0].tokens).toBe(25);
    expect(grants[0].remaining).toBe(75);
    expect(grants[0].ttlMs).toBe(Math.min(30_000, grants[0].resetMs));
    const next = await stub.lease(leaseRequest(t.tenantId, 1, { counters: minute(100, 1_000) }));
    expect(next.grants[0].tokens).toBe(18);
  });

  test('a restarted gate never grants again what it granted in the current window', async () => {
    const t = await limitedTenant({ rateLimit: limit(3) });
    await awayFromMinuteEnd();
    const stub = gate(t.tenantId);
    let granted = 0;
    for (let i = 0; i < 10; i++) {
      const lease = await stub.lease(leaseRequest(t.tenantId, 1, { counters: minute(3) }));
      granted += lease.grants[0].tokens;
    }
    expect(granted).toBe(3);
    // A new instance on the same storage, as after an eviction or a deploy.
    const again = await runInDurableObject(stub, async (_instance: TenantGate, state) => {
      const restarted = new TenantGate(state, env);
      return restarted.lease(leaseRequest(t.tenantId, 1, { counters: minute(3) }));
    });
    expect(again.grants[0]).toMatchObject({ tokens: 0, remaining: 0, limit: 3 });
  });

  test('a gate holding usage from the earlier release (stored with its record) writes it after a restart', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const days = { [utcDate(now())]: { ...emptyUsage(), requests: 7, allowed: 7, status_2xx: 7 } };
    await runInDurableObject(stub, async (_instance: TenantGate, state) => {
      // The earlier release's storage: the ledger with a top-level version and usage, and the tenant record.
      state.storage.kv.put('ledger', {
        version: 3,
        specs: { 'tenant:minute': { kind: 'minute', limit: 10 } },
        counters: {},
        leases: {},
        usage: days,
        usageSeq: {},
      });
      state.storage.kv.put('tenant', { id: t.tenantId, record: null, loadedAt: 0 });
      await state.storage.deleteAlarm();
      // This release starting on that storage, as after the deploy: it sets an alarm for what it owes.
      const restarted = new TenantGate(state, env);
      for (let i = 0; i < 300 && (await state.storage.getAlarm()) === null; i++) {
        await new Promise((done) => setTimeout(done, 10));
      }
      expect(await state.storage.getAlarm()).not.toBeNull();
      await restarted.alarm();
    });
    expect(await usageRow(t.tenantId)).toMatchObject({ requests: 7, allowed: 7, status2xx: 7 });
  });

  test('usage riding on lease calls is flushed by the alarm into usage_daily, once', async () => {
    const t = await seedTenant();
    const stub = gate(t.tenantId);
    const days = {
      [utcDate(now())]: { ...emptyUsage(), requests: 5, allowed: 4, rate_limited: 1, bytes_out: 99 },
    };
    // As an isolate of the earlier release sends it, while a rolling deploy runs.
    const first = leaseRequest(t.tenantId, 1, { isolateId: 'iso-a', usage: { seq: 1, days } });
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
    const date = utcDate(now());
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
      days: { [utcDate(now())]: { ...emptyUsage(), requests: 1 } },
    };
    await expect(withDb((db) => writeUsageFlush(db, flush))).resolves.toBeUndefined();
    expect(await usageRow(t.tenantId)).toBeUndefined();
  });
});
