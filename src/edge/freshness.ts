// Freshness of this isolate's snapshots through the ChangeFeed (DESIGN.md, Architecture principle 2): one
// poll at a time per isolate, ahead of time in the background while traffic is steady; a request waits for
// a poll only when the last one is more than a second old, and not at all while the feed is failing (the
// snapshots are then served unconfirmed, and `limits.on_stale` decides in ./handle).

import type { PollAnswer } from '../core/feed/feed-log';
import { POLL_TIMEOUT_MS } from '../core/feed/isolate-cursor';
import { now as clockNow } from '../core/time/clock';
import { withTimeout } from '../core/time/timeout';
import { connectDatabase } from '../db/client';
import { loadTenantVersions } from '../db/snapshot-query';
import type { Bindings } from '../env';
import { feedReplica, feedReplicaCount } from '../gate/feed-replicas';
import { isolateCursor as cursor } from './feed-cursor';
import { abandonLoadsInFlight, cachedTenantVersions, dropInstance, dropTenantBefore } from './resolve';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

// A poll lives in the request that started it; if that request is cancelled it never settles. Past its
// timeout and this grace it is taken as abandoned and the next request polls afresh.
const ABANDON_GRACE_MS = 500;

export type FeedPoller = (env: Bindings, replica: number, cursor: number | null) => Promise<PollAnswer>;
const feedStub: FeedPoller = (env, replica, at) => feedReplica(env, replica).poll(at) as Promise<PollAnswer>;
let pollFeed = feedStub;

/** Tests only: how polls reach the feed (e.g. one that fails); without an argument, the real one. */
export function setFeedPollerForTests(poller?: FeedPoller) {
  pollFeed = poller ?? feedStub;
}

let replica: number | undefined;
let inflight: { promise: Promise<void>; startedAt: number } | null = null;

/** Before a snapshot is used: confirms this isolate's snapshots are current, waiting only when it must. */
export async function confirmFreshness(env: Bindings, ctx: WaitUntil): Promise<void> {
  const now = clockNow();
  if (cursor.isFresh(now)) {
    if (cursor.shouldPollAhead(now) && !liveInflight(now)) ctx.waitUntil(poll(env).catch(() => {}));
    return;
  }
  // The feed failed a moment ago: serve unconfirmed rather than make every request wait on it (an isolate
  // without a cursor yet loads without one; its first successful poll then revalidates what it loaded).
  if (cursor.backingOff(now)) return;
  await poll(env).catch(() => {});
}

/** How long this isolate's snapshots have gone unconfirmed (for `limits.on_stale`). */
export function unconfirmedFor(now: number): number {
  return cursor.unconfirmedFor(now);
}

function liveInflight(now: number) {
  return inflight && now - inflight.startedAt < POLL_TIMEOUT_MS + ABANDON_GRACE_MS ? inflight : null;
}

function poll(env: Bindings): Promise<void> {
  const now = clockNow();
  const shared = liveInflight(now);
  if (shared) {
    const left = shared.startedAt + POLL_TIMEOUT_MS + ABANDON_GRACE_MS - now;
    return withTimeout(shared.promise, left, () => new Error('Feed poll abandoned'));
  }
  const promise = pollNow(env).finally(() => {
    if (inflight?.promise === promise) inflight = null;
  });
  inflight = { promise, startedAt: now };
  return promise;
}

async function pollNow(env: Bindings): Promise<void> {
  replica ??= Math.floor(Math.random() * feedReplicaCount(env));
  const sentAt = clockNow();
  try {
    const answer = await withTimeout(
      pollFeed(env, replica, cursor.cursor),
      POLL_TIMEOUT_MS,
      () => new Error('Feed poll timed out'),
    );
    const effects = cursor.accept(answer, sentAt);
    for (const { tenantId, version } of effects.named) dropTenantBefore(tenantId, version);
    for (const instanceId of effects.instances) dropInstance(instanceId);
    if (effects.revalidate) {
      abandonLoadsInFlight();
      await revalidate(env);
      cursor.revalidated(answer.cursor, sentAt);
    }
  } catch (err) {
    cursor.failed(clockNow());
    throw err;
  }
}

/** The cursor fell out of the feed's log: every cached snapshot's version checked in one query. */
async function revalidate(env: Bindings): Promise<void> {
  const cached = cachedTenantVersions();
  if (cached.length === 0) return;
  const conn = await connectDatabase(env);
  try {
    const current = await loadTenantVersions(
      conn.db,
      cached.map(([id]) => id),
    );
    // Named as the feed would have: a load in flight that read an older version is then not cached, and a
    // reload asks the colo cache for these.
    cursor.learned(current);
    for (const [id, version] of cached) {
      const now = current.get(id);
      if (now !== version) dropTenantBefore(id, Math.max(now ?? 0, version) + 1);
    }
  } finally {
    await conn.close();
  }
}
