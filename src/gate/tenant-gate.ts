import { DurableObject } from 'cloudflare:workers';
import { newId } from '../core/crypto/ids';
import { type CounterState, GateLedger, type GateState } from '../core/limits/gate-ledger';
import type { CounterSpec } from '../core/limits/lease';
import { now as clockNow, configureClock, runtimeTime, waitMs } from '../core/time/clock';
import { connectDatabase } from '../db/client';
import { type UsageFlush, writeUsageFlush } from '../db/usage';
import type { Bindings } from '../env';
import { type AuthScope, admitAuthAttempt, recordAuthSuccess } from './auth-throttle';
import type { GateLeaseRequest, GateLeaseResponse } from './lease-wire';

// Usage from isolates of an earlier release waits `usageFlushDelay` before it is written; a failed write is
// tried again after these waits (core/time/clock).
const FLUSH_RETRIES = ['usageFlushRetryFirst', 'usageFlushRetrySecond', 'usageFlushRetryLater'] as const;

/**
 * One per limited tenant (`idFromName(tenant id)`): the consistency point for its rate limits and quotas, and
 * the install and sign-in throttle of its host. A thin shell around GateLedger (core/limits/gate-ledger):
 * everything it decides is kept in this object's storage before the answer leaves, so a restarted gate never
 * grants tokens twice. Limits come with the isolates' calls (each with its snapshot version); the gate holds
 * no tenant record and never reads Postgres for serving. It still writes usage that isolates of an earlier
 * release sent with their calls, and what it held from before this release, so a rolling deploy loses none.
 */
export class TenantGate extends DurableObject<Bindings> {
  private ledger: GateLedger;
  /** The alarm set, in runtime time; undefined until it matters (read from storage then). */
  private alarmAt: number | null | undefined;
  private flushFailures = 0;
  private served = { leaseCalls: 0, flushes: 0 };

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    configureClock(env);
    this.ledger = new GateLedger(ctx.storage.kv.get<GateState>('ledger'));
    // Usage of an earlier release still held here: written on an alarm set now (no sooner alarm can exist).
    // Otherwise the alarm is not read: most gates never set one, and a gate call often starts its object.
    if (ctx.storage.kv.get('flush') !== undefined || this.ledger.holdsUsage())
      this.setAlarm(runtimeTime(clockNow()));
  }

  /** An isolate's call: reports refunded, tokens granted per its counters' limits. */
  async lease(request: GateLeaseRequest): Promise<GateLeaseResponse> {
    this.served.leaseCalls += 1;
    const now = clockNow();
    const lease = this.ledger.lease(request, now);
    this.ctx.storage.kv.put('ledger', this.ledger.stored());
    if (request.usage) {
      this.ctx.storage.kv.put('tenantId', request.tenantId);
      await this.arm(now + waitMs('usageFlushDelay'));
    }
    return lease;
  }

  /** The counters' state now, spending nothing (the explain endpoint). */
  peek(specs: CounterSpec[]): CounterState[] {
    return this.ledger.peek(specs, clockNow());
  }

  /** For tests and operators: what this gate has done since it started. */
  async stats() {
    return {
      ...this.served,
      alarmAt: this.alarmAt === undefined ? await this.ctx.storage.getAlarm() : this.alarmAt,
      unflushed: this.ctx.storage.kv.get<UsageFlush>('flush') !== undefined,
    };
  }

  async alarm(): Promise<void> {
    this.alarmAt = null;
    // `tenant` is where an earlier release kept the tenant it served.
    const kv = this.ctx.storage.kv;
    const tenantId = kv.get<string>('tenantId') ?? kv.get<{ id: string }>('tenant')?.id;
    try {
      await this.flush(tenantId);
      this.flushFailures = 0;
    } catch {
      // Kept in storage under its flush id; written by a later attempt.
      await this.arm(
        clockNow() + waitMs(FLUSH_RETRIES[Math.min(this.flushFailures, FLUSH_RETRIES.length - 1)]),
      );
      this.flushFailures += 1;
    }
  }

  /** Writes the batch left by a failed attempt, then what has come in since. */
  private async flush(tenantId: string | undefined): Promise<void> {
    const kv = this.ctx.storage.kv;
    for (let round = 0; round < 2; round++) {
      let flush = kv.get<UsageFlush>('flush');
      if (!flush) {
        if (!tenantId) return;
        const days = this.ledger.drainUsage();
        if (Object.keys(days).length === 0) return;
        flush = { id: newId('usg'), tenantId, days };
        // One synchronous block: both writes commit together, so usage is always in one place or the other.
        kv.put('flush', flush);
        kv.put('ledger', this.ledger.stored());
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

  /** Alarms only move earlier. */
  private async arm(at: number) {
    // Kept in the runtime's time, as the alarm itself is (the clock may run ahead of it in tests).
    const runtimeAt = runtimeTime(at);
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= runtimeAt) return;
    this.setAlarm(runtimeAt);
  }

  private setAlarm(runtimeAt: number) {
    this.alarmAt = runtimeAt;
    this.ctx.storage.setAlarm(runtimeAt);
  }

  /** Install-token, recovery-link and sign-in back-off (./auth-throttle): how long this guess waits. */
  authAttempt(scope: AuthScope, client: string) {
    return admitAuthAttempt(this.ctx.storage.sql, scope, client, clockNow());
  }

  authSucceeded(scope: AuthScope, client: string) {
    recordAuthSuccess(this.ctx.storage.sql, scope, client, clockNow());
  }
}
