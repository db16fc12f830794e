// Where the ChangeFeed replicas are: `FEED_REPLICAS` objects named `feed-0` … (DESIGN.md, Configuration).
// The control plane appends to every one; an isolate polls one, picked once for its lifetime.
import type { Bindings } from '../env';

const MAX_REPLICAS = 64;

export function feedReplicaCount(env: Pick<Bindings, 'FEED_REPLICAS'>): number {
  const n = Number(env.FEED_REPLICAS ?? 1);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_REPLICAS) : 1;
}

export function feedReplica(env: Bindings, index: number) {
  return env.CHANGE_FEED.get(env.CHANGE_FEED.idFromName(`feed-${index}`));
}
