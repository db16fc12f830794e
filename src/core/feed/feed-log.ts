// The ChangeFeed's log (DESIGN.md, Architecture principle 2), pure so the Durable Object stays a thin shell
// and the simulation (test/core/feed) runs the same code.
//
// The log is a cache of the Postgres `changes` table. Rows get their `seq` in commit order (a deferred
// trigger under one advisory lock), so a read of "every row past `head`" never misses a transaction that was
// still committing: after it, every seq ≤ the read's last is known. The feed therefore advances `head` only by
// reads, never by an append (an append only asks for a read, ./change-feed in src/gate), and isolates' cursors
// mean the same across feed restarts and replicas.
//
// `floor` is the seq below which the log no longer knows what happened (pruned, or before the feed first
// read): a cursor under it is "not covered", and its isolate revalidates its snapshots' versions instead.
//
// The head moves only as far as the rows a read returned: the table's max seq (`readHead`) is read by a
// second statement, so a row committed between the two would be skipped for good if the head took it. And a
// log that has never read (no stored state, first read not done) confirms nothing.

export type ChangeEntry = {
  seq: number;
  tenantId: string | null;
  instanceId: string | null;
  version: number;
};

/** A poll's answer: the entries past the isolate's cursor, and the cursor to ask with next time. */
export type PollAnswer = { cursor: number; covered: boolean; entries: ChangeEntry[] };

export type FeedState = { head: number; floor: number; entries: (ChangeEntry & { atMs: number })[] };

/** More entries than this past a cursor: cheaper for the isolate to revalidate in one query. */
export const MAX_POLL_ENTRIES = 500;
/** Entries are kept this long; a cursor older than that is not covered. */
export const FEED_RETENTION_MS = 15 * 60_000;
/** And at most this many. */
export const MAX_FEED_ENTRIES = 20_000;

export class FeedLog {
  head: number;
  floor: number;
  /** It has read `changes` (or holds a stored state that had): only then do its answers confirm anything. */
  started: boolean;
  private entries: (ChangeEntry & { atMs: number })[];

  constructor(state?: FeedState) {
    this.head = state?.head ?? 0;
    this.floor = state?.floor ?? 0;
    this.entries = state ? [...state.entries] : [];
    this.started = this.head > 0 || this.floor > 0 || this.entries.length > 0;
  }

  /**
   * Adopts a read of `changes` past `head`: `rows` are every committed row past it, ordered by seq. The head
   * moves to the last of them, never to the table's max(seq) (read apart from the rows, a row committed in
   * between would be past the rows and lost if the head jumped over it; rows pruned from the table are below
   * the ones left, so they never need it either). Returns the rows that were new.
   */
  adoptRead(rows: ChangeEntry[], atMs: number): ChangeEntry[] {
    const fresh = rows.filter((r) => r.seq > this.head);
    for (const row of fresh) this.entries.push({ ...row, atMs });
    if (fresh.length > 0) this.head = Math.max(this.head, fresh[fresh.length - 1].seq);
    this.started = true;
    return fresh;
  }

  /**
   * Starts over from the table's recent tail (`rows`, ordered by seq, the last ones up to its max seq): on
   * the first read of a feed that has never read, and when more rows came than one read takes. What came
   * before the tail is not covered. The head is the tail's last row; only an empty tail takes `readHead`,
   * as the floor too, so every cursor below it (a row committed between the two statements included) is not
   * covered and revalidates.
   */
  resetTo(rows: ChangeEntry[], readHead: number, atMs: number): void {
    this.entries = rows.map((r) => ({ ...r, atMs }));
    this.floor = rows.length > 0 ? rows[0].seq - 1 : readHead;
    this.head = rows.length > 0 ? rows[rows.length - 1].seq : this.floor;
    this.started = true;
  }

  poll(cursor: number | null): PollAnswer {
    // Before its first read the log knows nothing: a cursor is not covered (its isolate revalidates rather
    // than hear "nothing new"), and one without a cursor starts from before everything.
    if (!this.started) return { cursor: cursor ?? 0, covered: cursor === null, entries: [] };
    if (cursor === null) return { cursor: this.head, covered: true, entries: [] };
    // A cursor past the head came from a replica further along: nothing here is newer.
    if (cursor >= this.head) return { cursor: Math.max(cursor, this.head), covered: true, entries: [] };
    if (cursor < this.floor) return { cursor: this.head, covered: false, entries: [] };
    const from = this.firstAfter(cursor);
    if (this.entries.length - from > MAX_POLL_ENTRIES)
      return { cursor: this.head, covered: false, entries: [] };
    return {
      cursor: this.head,
      covered: true,
      entries: this.entries.slice(from).map(({ atMs: _, ...entry }) => entry),
    };
  }

  /** Forgets entries older than the retention (and beyond the count cap): the floor rises past them. */
  prune(nowMs: number): number {
    let drop = 0;
    while (
      drop < this.entries.length &&
      (this.entries[drop].atMs + FEED_RETENTION_MS <= nowMs || this.entries.length - drop > MAX_FEED_ENTRIES)
    ) {
      drop++;
    }
    if (drop === 0) return 0;
    this.floor = Math.max(this.floor, this.entries[drop - 1].seq);
    this.entries = this.entries.slice(drop);
    return drop;
  }

  state(): FeedState {
    return { head: this.head, floor: this.floor, entries: [...this.entries] };
  }

  get size(): number {
    return this.entries.length;
  }

  /** Index of the first entry with seq > cursor (binary search: entries are ordered by seq). */
  private firstAfter(cursor: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].seq <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
