// The ChangeFeed's log (src/core/feed/feed-log): a cache of Postgres `changes`, moved only by reads.
import { describe, expect, it } from 'vitest';
import {
  type ChangeEntry,
  FEED_RETENTION_MS,
  FeedLog,
  MAX_FEED_ENTRIES,
  MAX_POLL_ENTRIES,
} from '../../../src/core/feed/feed-log';

const T0 = 1_000_000;
const row = (seq: number, tenant = `t${seq}`, version = 1): ChangeEntry => ({
  seq,
  tenantId: tenant,
  instanceId: null,
  version,
});
const rows = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => row(from + i));
const seqs = (entries: ChangeEntry[]) => entries.map((e) => e.seq);

describe('FeedLog before its first read', () => {
  it('confirms nothing: a cursor is not covered, no cursor starts from before everything', () => {
    const log = new FeedLog();
    expect(log.started).toBe(false);
    expect(log.poll(null)).toEqual({ cursor: 0, covered: true, entries: [] });
    expect(log.poll(0)).toEqual({ cursor: 0, covered: false, entries: [] });
    expect(log.poll(42)).toEqual({ cursor: 42, covered: false, entries: [] });
  });

  it('answers from a stored state at once, as the log that stored it would', () => {
    const log = new FeedLog();
    log.resetTo(rows(5, 8), 8, T0);
    const restarted = new FeedLog(JSON.parse(JSON.stringify(log.state())));
    expect(restarted.started).toBe(true);
    for (const cursor of [null, 3, 4, 6, 8, 9]) expect(restarted.poll(cursor)).toEqual(log.poll(cursor));
  });

  it('starts on an empty table too, and then says "nothing new" to a cursor at its head', () => {
    const log = new FeedLog();
    log.resetTo([], 0, T0);
    expect(log.started).toBe(true);
    expect(log.poll(0)).toEqual({ cursor: 0, covered: true, entries: [] });
  });
});

describe('FeedLog.resetTo (first read, or more came than one read takes)', () => {
  it('covers the tail it read and nothing before it', () => {
    const log = new FeedLog();
    log.resetTo(rows(11, 14), 14, T0);
    expect([log.floor, log.head]).toEqual([10, 14]);
    expect(log.poll(9)).toEqual({ cursor: 14, covered: false, entries: [] });
    expect(seqs(log.poll(10).entries)).toEqual([11, 12, 13, 14]);
    expect(log.poll(12)).toEqual({ cursor: 14, covered: true, entries: [row(13), row(14)] });
  });

  it('on an empty tail, covers nothing below the table head', () => {
    const log = new FeedLog();
    log.resetTo([], 30, T0);
    expect([log.floor, log.head]).toEqual([30, 30]);
    expect(log.poll(29).covered).toBe(false);
    expect(log.poll(30)).toEqual({ cursor: 30, covered: true, entries: [] });
  });

  it('takes its head from the rows, not from a table head read after them', () => {
    // Row 15 committed between the read of the rows and the read of max(seq).
    const log = new FeedLog();
    log.resetTo(rows(11, 14), 15, T0);
    expect(log.head).toBe(14);
    log.adoptRead([row(15)], T0 + 1);
    expect(seqs(log.poll(14).entries)).toEqual([15]);
  });
});

describe('FeedLog.adoptRead', () => {
  it('adds the rows past its head and returns them; the ones it has are ignored', () => {
    const log = new FeedLog();
    log.resetTo(rows(1, 3), 3, T0);
    expect(seqs(log.adoptRead(rows(2, 5), T0 + 1))).toEqual([4, 5]);
    expect(log.head).toBe(5);
    expect(seqs(log.poll(0).entries)).toEqual([1, 2, 3, 4, 5]);
    expect(log.size).toBe(5);
  });

  it('moves its head to the last row it read, never past it: a row committed after the read stays', () => {
    const log = new FeedLog();
    log.resetTo(rows(1, 3), 3, T0);
    log.adoptRead([row(4)], T0 + 1); // 5 committed after the rows were read
    expect(log.head).toBe(4);
    log.adoptRead([], T0 + 2); // an empty read does not jump either
    expect(log.head).toBe(4);
    log.adoptRead([row(5)], T0 + 3);
    expect(log.poll(4)).toEqual({ cursor: 5, covered: true, entries: [row(5)] });
  });

  it('keeps gaps in seq (rolled-back transactions) covered', () => {
    const log = new FeedLog();
    log.resetTo([row(1)], 1, T0);
    log.adoptRead([row(4), row(9)], T0);
    expect(log.poll(2)).toEqual({ cursor: 9, covered: true, entries: [row(4), row(9)] });
  });
});

describe('FeedLog.poll', () => {
  it('answers a cursor at or past its head with nothing, keeping the larger cursor', () => {
    const log = new FeedLog();
    log.resetTo(rows(1, 3), 3, T0);
    expect(log.poll(3)).toEqual({ cursor: 3, covered: true, entries: [] });
    expect(log.poll(7)).toEqual({ cursor: 7, covered: true, entries: [] });
    expect(log.poll(null)).toEqual({ cursor: 3, covered: true, entries: [] });
  });

  it(`sends at most ${MAX_POLL_ENTRIES} entries; more is cheaper revalidated`, () => {
    const log = new FeedLog();
    log.resetTo(rows(1, MAX_POLL_ENTRIES + 1), MAX_POLL_ENTRIES + 1, T0);
    expect(log.poll(0)).toEqual({ cursor: MAX_POLL_ENTRIES + 1, covered: false, entries: [] });
    expect(log.poll(1).entries).toHaveLength(MAX_POLL_ENTRIES);
  });
});

describe('FeedLog.prune', () => {
  it('forgets entries past the retention; the floor rises past them', () => {
    const log = new FeedLog();
    log.resetTo(rows(1, 3), 3, T0);
    log.adoptRead(rows(4, 6), T0 + 60_000);
    expect(log.prune(T0 + FEED_RETENTION_MS - 1)).toBe(0);
    expect(log.prune(T0 + FEED_RETENTION_MS)).toBe(3);
    expect(log.floor).toBe(3);
    expect(log.poll(2).covered).toBe(false);
    expect(seqs(log.poll(3).entries)).toEqual([4, 5, 6]);
    expect(log.prune(T0 + 60_000 + FEED_RETENTION_MS)).toBe(3);
    expect([log.floor, log.head, log.size]).toEqual([6, 6, 0]);
    expect(log.poll(6)).toEqual({ cursor: 6, covered: true, entries: [] });
  });

  it(`keeps at most ${MAX_FEED_ENTRIES} entries`, () => {
    const log = new FeedLog();
    const n = MAX_FEED_ENTRIES + 10;
    log.resetTo(rows(1, n), n, T0);
    expect(log.prune(T0)).toBe(10);
    expect(log.size).toBe(MAX_FEED_ENTRIES);
    expect(log.floor).toBe(10);
  });
});
