import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { kickHookDeliverer } from '../hooks/kick';
import { invalidateTenant } from './resolve';

/**
 * Called after a committed control change to a tenant (its version already bumped in the same
 * transaction), by the control routes (through src/edge/index.ts) and the console: this isolate's data
 * plane drops what it knows of the tenant, so the next request sees it,
 * and the tenant's TenantGate re-reads it, so every other isolate sees it with its next lease (≤ 1 s).
 */
export function tenantChanged(c: Context<AppEnv>, tenantId: string) {
  invalidateTenant(tenantId);
  // Not awaited: the write has committed and its answer must not wait on, or fail with, the gate. Nothing
  // is lost if this fails: an isolate that reads the new version asks the gate to catch up, and the gate
  // re-reads every 60 s anyway.
  const gate = c.env.TENANT_GATE.get(c.env.TENANT_GATE.idFromName(tenantId));
  c.executionCtx.waitUntil(gate.refresh(tenantId).catch(() => {}));
  // The change may have written lifecycle events to the outbox: they go out now, not on the next sweep.
  kickHookDeliverer(c.env, c.executionCtx, tenantId);
}
