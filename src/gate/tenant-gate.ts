import { DurableObject } from 'cloudflare:workers';
import { newId } from '../core/crypto/ids';
import { type CounterSpec, countersFor, GateLedger, type GateState } from '../core/limits/lease';
import { now as clockNow, configureClock, runtimeTime, waitMs } from '../core/time/clock';
import { connectDatabase } from '../db/client';
import { loadTenantRecordById, type TenantRecord } from '../db/snapshot-query';
import { type UsageFlush, writeUsageFlush } from '../db/usage';
import type { Bindings } from '../env';
import { type AuthScope, admitAuthAttempt, recordAuthSuccess } from './auth-throttle';
import type { GateLeaseRequest, GateLeaseResponse } from './lease-wire';

// Usage waits `usageFlushDelay` in the gate before it is written (the contract says 10 s; 15 s to be seen);
// a failed re-read is not tried again sooner than `gateReloadRetry`, so a Postgres outage does not slow
// every lease call (core/time/clock).
const FLUSH_RETRIES = ['usageFlushRetryFirst', 'usageFlushRetrySecond', 'usageFlushRetryLater'] as const;
// Safety net under the control plane's notifications, while isolates are asking.
const RECORD_MAX_AGE_MS = 60_000;

type StoredTenant = { id: string; record: TenantRecord | null; loadedAt: number };

/** What the gate limits: the tenant's own counters and those of every key with its own rate limit. */
function countersOf(record: TenantRecord | null): CounterSpec[] {
  if (!record) return [];
  return [
    ...countersFor(record.rate_limit, null, null),
    ...record.keys.flatMap((k) => (k.rate_limit ? countersFor(null, k.id, k.rate_limit) : [])),
  ];
}

/**
 * One per tenant (`idFromName(tenant id)`): the consistency point for rate limits, quotas, the snapshot
 * version and usage. A thin shell around GateLedger (core/limits/lease): everything it decides is kept in
 * this object's storage before the answer leaves, so a restarted gate neither re-grants tokens nor forgets
 * usage, and the tenant's record stays servable while Postgres is down.
 */
export class TenantGate extends DurableObject<Bindings> {
  private ledger: GateLedger;
  private tenant: StoredTenant | undefined;
  private loading: Promise<void> | null = null;
  private reloadFailedAt = 0;
  private alarmAt: number | null = null;
  private lastLeaseAt = 0;
  private flushFailures = 0;
  private served = { leaseCalls: 0, reloads: 0, flushes: 0 };

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    configureClock(env);
    this.ledger = new GateLedger(ctx.storage.kv.get<GateState>('ledger'));
    this.tenant = ctx.storage.kv.get<StoredTenant>('tenant');
    ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** An isolate's lease call: tokens, the version lease, and its usage riding along. */
  async lease(request: GateLeaseRequest): Promise<GateLeaseResponse> {
    this.served.leaseCalls += 1;
    this.lastLeaseAt = clockNow();
    // Counters the ledger does not know are answered as unlimited, so the limits come first.
    if (!this.tenant) await this.reload(request.tenantId);
    else if (
      request.knownVersion > this.version &&
      clockNow() >= this.reloadFailedAt + waitMs('gateReloadRetry')
    ) {
      // The isolate read a newer version from Postgres than the gate was told about: catch up first.
      await this.reload(request.tenantId).catch(() => {});
    }
    const now = clockNow();
    const lease = this.ledger.lease(request, now);
    this.ctx.storage.kv.put('ledger', this.ledger.snapshot());
    if (request.usage) this.arm(now + waitMs('usageFlushDelay'));
    else this.arm(Math.max(now, this.tenant!.loadedAt) + RECORD_MAX_AGE_MS);
    const record = this.tenant!.record;
    return record && record.version === request.knownVersion ? { lease } : { lease, record };
  }

  /** Called by the control plane after a committed change: re-read the tenant now. */
  async refresh(tenantId: string): Promise<number> {
    await this.reload(tenantId);
    return this.version;
  }

  /** For tests and operators: what this gate has done since it started. */
  stats() {
    return {
      ...this.served,
      version: this.version,
      alarmAt: this.alarmAt,
      unflushed: this.ctx.storage.kv.get<UsageFlush>('flush') !== undefined,
    };
  }

  async alarm(): Promise<void> {
    this.alarmAt = null;
    const tenantId = this.tenant?.id;
    if (!tenantId) return;
    const now = clockNow();
    try {
      await this.flush(tenantId);
      this.flushFailures = 0;
    } catch {
      // Kept in storage under its flush id; written by a later attempt.
      this.arm(now + waitMs(FLUSH_RETRIES[Math.min(this.flushFailures, FLUSH_RETRIES.length - 1)]));
      this.flushFailures += 1;
    }
    if (this.lastLeaseAt + RECORD_MAX_AGE_MS > now) {
      if (this.tenant!.loadedAt + RECORD_MAX_AGE_MS <= now) await this.reload(tenantId).catch(() => {});
      this.arm(Math.max(now + waitMs('gateReloadRetry'), this.tenant!.loadedAt + RECORD_MAX_AGE_MS));
    }
  }

  private get version(): number {
    return this.ledger.version;
  }

  /** One re-read at a time; concurrent callers share it. */
  private reload(tenantId: string): Promise<void> {
    this.loading ??= (async () => {
      const conn = await connectDatabase(this.env);
      try {
        this.adopt(tenantId, await loadTenantRecordById(conn.db, tenantId));
      } finally {
        await conn.close();
      }
    })()
      .catch((err) => {
        this.reloadFailedAt = clockNow();
        throw err;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  private adopt(tenantId: string, record: TenantRecord | null) {
    this.served.reloads += 1;
    // Versions only grow; an older read that finishes late changes nothing.
    if (record && record.version < this.version) return;
    this.tenant = { id: tenantId, record, loadedAt: clockNow() };
    this.ledger.setLimits(countersOf(record), record?.version ?? this.version);
    this.ctx.storage.kv.put('tenant', this.tenant);
    this.ctx.storage.kv.put('ledger', this.ledger.snapshot());
  }

  /** Writes the batch left by a failed attempt, then what has come in since. */
  private async flush(tenantId: string): Promise<void> {
    const kv = this.ctx.storage.kv;
    for (let round = 0; round < 2; round++) {
      let flush = kv.get<UsageFlush>('flush');
      if (!flush) {
        const days = this.ledger.drainUsage();
        if (Object.keys(days).length === 0) return;
        flush = { id: newId('usg'), tenantId, days };
        // One synchronous block: both writes commit together, so usage is always in one place or the other.
        kv.put('flush', flush);
        kv.put('ledger', this.ledger.snapshot());
      }
      const conn = await connectDatabase(this.env);
      try {
        await writeUsageFlush(conn.db, flush);
      } finally {
        await conn.close();
      }
      kv.delete('flush');
      this.served.flushes += 1;
    }
  }

  /** Alarms only move earlier: a flush due in 5 s is not pushed back by the 60 s safety net. */
  private arm(at: number) {
    // Kept in the runtime's time, as the alarm itself is (the clock may run ahead of it in tests).
    const runtimeAt = runtimeTime(at);
    if (this.alarmAt !== null && this.alarmAt <= runtimeAt) return;
    this.alarmAt = runtimeAt;
    this.ctx.storage.setAlarm(runtimeAt);
  }

  /** Install-token and console sign-in back-off (./auth-throttle): how long this guess must wait. */
  authAttempt(scope: AuthScope, client: string) {
    return admitAuthAttempt(this.ctx.storage.sql, scope, client, clockNow());
  }

  authSucceeded(scope: AuthScope, client: string) {
    recordAuthSuccess(this.ctx.storage.sql, scope, client, clockNow());
  }
}
