import { DurableObject } from 'cloudflare:workers';
import { logError } from '../core/http/log';
import { configureClock, now, runtimeTime, waitMs } from '../core/time/clock';
import type { Bindings } from '../env';
import { deliverPending } from './deliver-pending';

/**
 * One per tenant (named by the tenant id): delivers the tenant's lifecycle events from the outbox, in
 * order, on its alarm. The control plane kicks it after each commit; the alarm carries the retries.
 */
export class HookDeliverer extends DurableObject<Bindings> {
  private running = false;
  private kicked = false;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    configureClock(env);
  }

  /** Something of this tenant was committed: deliver what is pending now. */
  async kick(tenantId: string): Promise<void> {
    this.kicked = true;
    if (this.running) return;
    await this.ctx.storage.put('tenant', tenantId);
    await this.ctx.storage.setAlarm(runtimeTime(now()));
  }

  async alarm(): Promise<void> {
    const tenantId = await this.ctx.storage.get<string>('tenant');
    if (!tenantId) return;
    this.running = true;
    let next: number | null = null;
    try {
      // A kick while a pass was at work may have added an event the pass did not see.
      do {
        this.kicked = false;
        next = await deliverPending(this.env, tenantId);
      } while (this.kicked);
    } catch (err) {
      logError({ at: 'hook-deliverer', tenant_id: tenantId }, err);
      // The database cannot be reached: look again later.
      next = now() + waitMs('hookOutageRetry');
    } finally {
      this.running = false;
    }
    // Set after `running` is false with nothing awaited in between: a later kick's alarm replaces this one.
    if (next !== null) await this.ctx.storage.setAlarm(runtimeTime(next));
  }
}
