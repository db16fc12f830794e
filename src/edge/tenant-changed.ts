import type { Context, MiddlewareHandler } from 'hono';
import { withTimeout } from '../core/time/timeout';
import { connectDatabase } from '../db/client';
import { loadTenantRecordById } from '../db/snapshot-query';
import type { AppEnv, Bindings } from '../env';
import { feedReplica, feedReplicaCount } from '../gate/feed-replicas';
import { kickHookDeliverer } from '../hooks/kick';
import { putColoRecord } from './colo-cache';
import { invalidateTenant } from './resolve';

// The answer to a write waits this long for the ChangeFeed to take it (DESIGN.md, Architecture principle 2).
const APPEND_WAIT_MS = 1_000;
// The writer puts the new record of at most this many changed tenants in the colo cache itself; past that
// (an instance change bumps every tenant placed on it) the first isolate to reload each one reads Postgres.
const PREWARM_MAX = 20;

/**
 * Called after a committed control change to a tenant (its version bumped, and its `changes` row written,
 * in the same transaction), by the control routes (through src/edge/index.ts) and the console: this
 * isolate's data plane drops what it knows of the tenant, so its next request sees the change, and the
 * request's answer waits for the ChangeFeed to take it (`propagateChanges`), so every other isolate sees it
 * with its next poll (≤ 1 s).
 */
export function tenantChanged(c: Context<AppEnv>, tenantId: string) {
  invalidateTenant(tenantId);
  const changed = c.get('changed') ?? new Set<string>();
  changed.add(tenantId);
  c.set('changed', changed);
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
 * The changed tenants' new records, read once here and put in the colo cache: every other isolate of the
 * colo reloads a changed tenant on its next poll, and would otherwise each wait on a Postgres connection of
 * its own (tens to hundreds of milliseconds under load) before its first answer on the new version.
 */
async function prewarmColoCache(env: Bindings, tenantIds: string[]): Promise<void> {
  const conn = await connectDatabase(env);
  try {
    for (const tenantId of tenantIds.slice(0, PREWARM_MAX)) {
      const record = await loadTenantRecordById(conn.db, tenantId);
      if (record) await putColoRecord(record);
    }
  } finally {
    await conn.close();
  }
}

/** Whether `work` settled well within the answer's wait. */
const withinWait = (work: Promise<unknown>): Promise<boolean> =>
  withTimeout(work, APPEND_WAIT_MS, () => new Error('Timed out')).then(
    () => true,
    () => false,
  );

/**
 * Middleware of both apps: once the handler has answered, a request that changed a tenant appends to the
 * ChangeFeed before its answer leaves, for up to 1 s; past that (or when the feed fails) the answer says
 * `X-Gateway-Propagation: delayed` and the feed's own 10 s read of `changes` repairs it. Meanwhile the new
 * records go to the colo cache, within the same second (a failure there only costs other isolates a read).
 */
export function propagateChanges(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const changed = c.get('changed');
    if (!changed) return;
    const append = appendToFeeds(c.env);
    const prewarm = prewarmColoCache(c.env, [...changed]);
    c.executionCtx.waitUntil(append.catch(() => {}));
    c.executionCtx.waitUntil(prewarm.catch(() => {}));
    const [taken] = await Promise.all([withinWait(append), withinWait(prewarm)]);
    if (!taken) c.res.headers.set('x-gateway-propagation', 'delayed');
  };
}
