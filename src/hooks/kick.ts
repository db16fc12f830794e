import { logError } from '../core/http/log';
import type { Bindings } from '../env';

type Waiter = { waitUntil(promise: Promise<unknown>): void };

/** After a commit: the tenant's HookDeliverer sends what the commit put in the outbox, without delaying the answer. */
export function kickHookDeliverer(env: Bindings, ctx: Waiter, tenantId: string) {
  const stub = env.HOOK_DELIVERER.get(env.HOOK_DELIVERER.idFromName(tenantId));
  ctx.waitUntil(
    stub.kick(tenantId).catch((err: unknown) => {
      // The event is safe in the outbox; the sweep (cron) kicks the deliverer later.
      logError({ at: 'hook-kick', tenant_id: tenantId }, err);
    }),
  );
}
