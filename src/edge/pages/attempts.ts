import type { Context } from 'hono';
import { clientKey } from '../../core/limits/throttle';
import { ApiError } from '../../errors';
import type { AuthScope } from '../../gate/auth-throttle';
import { type PageEnv, tenantOf } from './env';

/**
 * Counts a guess at a secret (install token, password) with the tenant's TenantGate and waits as long as
 * the gate says before the caller checks it. Returns what to call when the guess was right. Fails closed:
 * without the gate the attempt is refused (503), never let through uncounted.
 */
export async function beginAttempt(c: Context<PageEnv>, scope: AuthScope): Promise<() => void> {
  const client = clientKey(c.req.header('cf-connecting-ip'));
  const gate = c.env.TENANT_GATE.get(c.env.TENANT_GATE.idFromName(tenantOf(c).id));
  const admission = await gate.authAttempt(scope, client).catch(() => {
    throw new ApiError('limiter_unavailable', 'Attempts cannot be counted right now; try again shortly');
  });
  if (!admission.admitted) {
    const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
    throw new ApiError('rate_limited', `Too many failed attempts; try again in ${seconds} s`, undefined, {
      'retry-after': String(seconds),
    });
  }
  if (admission.waitMs > 0) await scheduler.wait(admission.waitMs);
  return () => c.executionCtx.waitUntil(gate.authSucceeded(scope, client).catch(() => {}));
}
