// The isolate's side of the ChangeFeed (DESIGN.md, Architecture principle 2), pure: when to poll, whether a
// snapshot may be served, and what an answer drops. src/edge/freshness.ts does the I/O around it, and the
// simulation (test/core/feed) drives many of these against one feed.
//
// - One cursor per isolate, taken by a poll before the isolate's first load.
// - A snapshot is served only while the last successful poll was SENT ≤ FRESH_MS ago (send time, not answer
//   time: the answer reflects the feed somewhere between the two). Polls start POLL_AHEAD_MS into that, in
//   the background, so steady traffic never waits; at most one is in flight.
// - A failed poll backs off (BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS); meanwhile snapshots are served
//   unconfirmed (`limits.on_stale` decides, in the edge) rather than every request waiting on a feed that is down.
// - Every entry names a tenant's version: a cached snapshot older than it is dropped, and a load that returns
//   an older version than one named is not cached (`isOutdated`), which closes the load-versus-change race.

import type { PollAnswer } from './feed-log';

export const FRESH_MS = 1_000;
export const POLL_AHEAD_MS = 900;
export const POLL_TIMEOUT_MS = 1_000;
export const BACKOFF_FIRST_MS = 250;
export const BACKOFF_MAX_MS = 5_000;
/** `limits.on_stale: "refuse"` refuses once a snapshot is unconfirmed for longer than this. */
export const STALE_REFUSE_MS = 10_000;
const MAX_NAMED = 50_000;

/** What an answer asks of the isolate's caches. */
export type PollEffects = {
  /** Tenants whose cached snapshot is older than the version the feed named. */
  named: { tenantId: string; version: number }[];
  /** Instances whose tenants' snapshots are all dropped. */
  instances: string[];
  /** The cursor was not covered (or this is the first answer): check every cached snapshot's version in one
   * query. */
  revalidate: boolean;
};

export class IsolateCursor {
  cursor: number | null = null;
  /** Send time of the last successful poll; 0 before the first. */
  confirmedAt = 0;
  private failures = 0;
  private retryAt = 0;
  /** Answers that asked for a revalidation (first, or not covered): the feed may have skipped changes. */
  gaps = 0;
  /** The newest version named per tenant, and the gap count when it was named. */
  private named = new Map<string, { version: number; gap: number }>();

  /** A snapshot may be served without waiting: the last poll is fresh. */
  isFresh(nowMs: number): boolean {
    return this.cursor !== null && nowMs - this.confirmedAt <= FRESH_MS;
  }

  /** A background poll should start now (the caller makes sure only one is in flight). */
  shouldPollAhead(nowMs: number): boolean {
    return this.cursor !== null && nowMs - this.confirmedAt >= POLL_AHEAD_MS && nowMs >= this.retryAt;
  }

  /** The feed failed recently: serve unconfirmed instead of waiting for it. */
  backingOff(nowMs: number): boolean {
    return nowMs < this.retryAt;
  }

  /** How long what is served has gone unconfirmed (Infinity before the first poll). */
  unconfirmedFor(nowMs: number): number {
    return this.cursor === null ? Number.POSITIVE_INFINITY : Math.max(0, nowMs - this.confirmedAt - FRESH_MS);
  }

  failed(nowMs: number): void {
    this.retryAt = nowMs + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.failures);
    this.failures += 1;
  }

  /**
   * Adopts an answer to a poll sent at `sentAt`; returns what to drop. An uncovered answer moves nothing:
   * the cursor and the confirmation wait for the revalidation it asks for (`revalidated`). So does the first
   * answer: snapshots loaded while no poll had succeeded (the feed unreachable at start) have no cursor, and
   * the head it brings would skip what changed since they were read (with nothing cached, a revalidation
   * costs no query).
   */
  accept(answer: PollAnswer, sentAt: number): PollEffects {
    const first = this.cursor === null;
    const effects: PollEffects = { named: [], instances: [], revalidate: !answer.covered || first };
    if (effects.revalidate) {
      this.gaps += 1;
      return effects;
    }
    for (const entry of answer.entries) {
      if (entry.tenantId !== null) {
        this.name(entry.tenantId, entry.version);
        effects.named.push({ tenantId: entry.tenantId, version: entry.version });
      }
      if (entry.instanceId !== null) effects.instances.push(entry.instanceId);
    }
    this.advance(answer.cursor, sentAt);
    return effects;
  }

  /**
   * Versions a revalidation read from Postgres, named as if the feed had named them: a load in flight that
   * read an older one is then not cached (`isOutdated`), and a reload asks the colo cache for these, not for
   * an older version the feed named before.
   */
  learned(versions: Iterable<readonly [string, number]>): void {
    for (const [tenantId, version] of versions) this.name(tenantId, version);
  }

  /** The revalidation an uncovered answer asked for is done: what is cached is current as of `sentAt`. */
  revalidated(cursor: number, sentAt: number): void {
    this.advance(cursor, sentAt);
  }

  private advance(cursor: number, sentAt: number) {
    // Answers can arrive out of order (a timed-out poll answering late): the cursor never moves back.
    if (this.cursor === null || cursor >= this.cursor) this.cursor = cursor;
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    this.failures = 0;
    this.retryAt = 0;
  }

  /** A load's version is older than one the feed named: it must not be cached. */
  isOutdated(tenantId: string, version: number): boolean {
    return (this.named.get(tenantId)?.version ?? 0) > version;
  }

  /**
   * The newest version of a tenant the feed has named, if any, and only when named since the last gap:
   * across a gap the tenant may have changed unnamed, so an older name is no longer its current version.
   */
  namedVersion(tenantId: string): number | undefined {
    const named = this.named.get(tenantId);
    return named && named.gap === this.gaps ? named.version : undefined;
  }

  private name(tenantId: string, version: number) {
    const known = this.named.get(tenantId);
    if (known && version <= known.version) {
      if (version === known.version) known.gap = this.gaps;
      return;
    }
    this.named.delete(tenantId);
    this.named.set(tenantId, { version, gap: this.gaps });
    if (this.named.size > MAX_NAMED) this.named.delete(this.named.keys().next().value as string);
  }
}
