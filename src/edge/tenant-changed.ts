import type { Context, MiddlewareHandler } from 'hono';
import { withTimeout } from '../core/time/timeout';
import type { AppEnv, Bindings } from '../env';
import { feedReplica, feedReplicaCount } from '../gate/feed-replicas';
import { kickHookDeliverer } from '../hooks/kick';
import { invalidateTenant } from './resolve';

// The answer to a write waits this long for the ChangeFeed to take it (DESIGN.md, Architecture principle 2).
const APPEND_WAIT_MS = 1_000;

/**
 * Called after a committed control change to a tenant (its version bumped, and its `changes` row written,
 * in the same transaction), by the control routes (through src/edge/index.ts) and the console: this
 * isolate's data plane drops what it knows of the tenant, so its next request sees the change, and the
 * request's answer waits for the ChangeFeed to take it (`propagateChanges`), so every other isolate sees it
 * with its next poll (≤ 1 s).
 */
export function tenantChanged(c: Context<AppEnv>, tenantId: string) {
  invalidateTenant(tenantId);
  c.set('changed', true);
  // The change may have written lifecycle events to the outbox: they go out now, not on the next sweep.
  kickHookDeliverer(c.env, c.executionCtx, tenantId);
}

/** Every replica reads its `changes` past its head: one append covers every write the request committed. */
const appendToReplicas = async (env: Bindings): Promise<void> => {
  const replicas = Array.from({ length: feedReplicaCount(env) }, (_, i) => feedReplica(env, i).append());
  await Promise.all(replicas);
};
let appendToFeeds = appendToReplicas;

/** Tests only: how appends reach the feed (e.g. one that hangs); without an argument, the real one. */
export function setFeedAppenderForTests(appender?: (env: Bindings) => Promise<void>) {
  appendToFeeds = appender ?? appendToReplicas;
}

/**
 * Middleware of both apps: once the handler has answered, a request that changed a tenant appends to the
 * ChangeFeed before its answer leaves, for up to 1 s; past that (or when the feed fails) the answer says
 * `X-Gateway-Propagation: delayed` and the feed's own 10 s read of `changes` repairs it.
 */
export function propagateChanges(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (!c.get('changed')) return;
    const append = appendToFeeds(c.env);
    c.executionCtx.waitUntil(append.catch(() => {}));
    const taken = await withTimeout(append, APPEND_WAIT_MS, () => new Error('Feed append timed out')).then(
      () => true,
      () => false,
    );
    if (!taken) c.res.headers.set('x-gateway-propagation', 'delayed');
  };
}
