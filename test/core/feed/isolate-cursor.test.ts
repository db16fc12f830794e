// An isolate's one ChangeFeed cursor (src/core/feed/isolate-cursor): freshness, polling ahead, back-off,
// what an answer drops, revalidation, and the load-versus-change race.
import { describe, expect, it } from 'vitest';
import type { ChangeEntry, PollAnswer } from '../../../src/core/feed/feed-log';
import {
  BACKOFF_FIRST_MS,
  BACKOFF_MAX_MS,
  FRESH_MS,
  IsolateCursor,
  POLL_AHEAD_MS,
} from '../../../src/core/feed/isolate-cursor';

const entry = (seq: number, tenantId: string | null, version: number, instanceId: string | null = null) =>
  ({ seq, tenantId, instanceId, version }) satisfies ChangeEntry;
const answer = (cursor: number, entries: ChangeEntry[] = [], covered = true): PollAnswer => ({
  cursor,
  covered,
  entries,
});

/** A cursor past its first answer (which asks for a revalidation, done at once). */
function started(cursor = 10, sentAt = 0): IsolateCursor {
  const c = new IsolateCursor();
  expect(c.accept(answer(cursor), sentAt).revalidate).toBe(true);
  c.revalidated(cursor, sentAt);
  return c;
}

describe('IsolateCursor before and at its first answer', () => {
  it('is never fresh and never polls ahead before a first answer', () => {
    const c = new IsolateCursor();
    expect(c.isFresh(0)).toBe(false);
    expect(c.shouldPollAhead(10_000)).toBe(false);
    expect(c.unconfirmedFor(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('asks for a revalidation with the first answer, and moves only once it is done', () => {
    const c = new IsolateCursor();
    // Snapshots loaded while no poll had succeeded have no cursor: the head would skip what they missed.
    expect(c.accept(answer(10), 100)).toEqual({ named: [], instances: [], revalidate: true });
    expect(c.cursor).toBeNull();
    expect(c.isFresh(100)).toBe(false);
    c.revalidated(10, 100);
    expect(c.cursor).toBe(10);
    expect(c.isFresh(100 + FRESH_MS)).toBe(true);
  });
});

describe('IsolateCursor freshness', () => {
  it('is fresh for 1 s from when the last successful poll was SENT, not answered', () => {
    const c = started(10, 0);
    c.accept(answer(12), 5_000); // sent at 5 000, answered later
    expect(c.isFresh(5_000 + FRESH_MS)).toBe(true);
    expect(c.isFresh(5_001 + FRESH_MS)).toBe(false);
    expect(c.unconfirmedFor(5_000 + FRESH_MS)).toBe(0);
    expect(c.unconfirmedFor(5_000 + FRESH_MS + 2_500)).toBe(2_500);
  });

  it('polls ahead from 900 ms on, so steady traffic never waits', () => {
    const c = started(10, 1_000);
    expect(c.shouldPollAhead(1_000 + POLL_AHEAD_MS - 1)).toBe(false);
    expect(c.shouldPollAhead(1_000 + POLL_AHEAD_MS)).toBe(true);
    expect(c.isFresh(1_000 + POLL_AHEAD_MS)).toBe(true);
  });

  it('never moves back on a late answer to an older poll', () => {
    const c = started(10, 0);
    c.accept(answer(20), 2_000);
    c.accept(answer(15), 1_500); // older poll, answered last
    expect(c.cursor).toBe(20);
    expect(c.confirmedAt).toBe(2_000);
  });
});

describe('IsolateCursor back-off', () => {
  it('backs off 250 ms doubling to 5 s, polls not ahead meanwhile, and resets on success', () => {
    const c = started(10, 0);
    const waits: number[] = [];
    for (let i = 0, now = 10_000; i < 7; i++) {
      c.failed(now);
      let until = now;
      while (c.backingOff(until)) until += 50;
      waits.push(until - now);
      expect(c.shouldPollAhead(until - 50)).toBe(false);
      now = until;
    }
    expect(waits).toEqual([
      BACKOFF_FIRST_MS,
      BACKOFF_FIRST_MS * 2,
      BACKOFF_FIRST_MS * 4,
      BACKOFF_FIRST_MS * 8,
      BACKOFF_FIRST_MS * 16,
      BACKOFF_MAX_MS,
      BACKOFF_MAX_MS,
    ]);
    c.accept(answer(11), 30_000);
    expect(c.backingOff(30_000)).toBe(false);
    c.failed(31_000);
    expect(c.backingOff(31_000 + BACKOFF_FIRST_MS - 1)).toBe(true);
    expect(c.backingOff(31_000 + BACKOFF_FIRST_MS)).toBe(false);
  });
});

describe('IsolateCursor answers', () => {
  it('names each tenant version and instance of the entries, and advances', () => {
    const c = started(10, 0);
    const effects = c.accept(
      answer(14, [entry(11, 'a', 3), entry(12, null, 1, 'ins_1'), entry(13, 'b', 7), entry(14, 'a', 4)]),
      1_000,
    );
    expect(effects).toEqual({
      named: [
        { tenantId: 'a', version: 3 },
        { tenantId: 'b', version: 7 },
        { tenantId: 'a', version: 4 },
      ],
      instances: ['ins_1'],
      revalidate: false,
    });
    expect(c.cursor).toBe(14);
    expect(c.namedVersion('a')).toBe(4);
    expect(c.namedVersion('c')).toBeUndefined();
  });

  it('says a load is outdated when it read a version older than one named (the load-versus-change race)', () => {
    const c = started(10, 0);
    c.accept(answer(12, [entry(11, 'a', 5), entry(12, 'a', 4)]), 1_000);
    expect(c.namedVersion('a')).toBe(5); // the newest, whatever the order
    expect(c.isOutdated('a', 4)).toBe(true);
    expect(c.isOutdated('a', 5)).toBe(false);
    expect(c.isOutdated('a', 6)).toBe(false);
    expect(c.isOutdated('b', 1)).toBe(false);
  });

  it('on an uncovered answer asks for a revalidation and moves nothing until it is done', () => {
    const c = started(10, 0);
    const effects = c.accept(answer(900, [], false), 5_000);
    expect(effects).toEqual({ named: [], instances: [], revalidate: true });
    expect(c.cursor).toBe(10);
    expect(c.isFresh(5_500)).toBe(false);
    c.revalidated(900, 5_000);
    expect(c.cursor).toBe(900);
    expect(c.isFresh(5_000 + FRESH_MS)).toBe(true);
  });

  it('forgets the oldest named tenant past its cap, not the newest', () => {
    const c = started(0, 0);
    const n = 50_001;
    c.accept(
      answer(
        n,
        Array.from({ length: n }, (_, i) => entry(i + 1, `t${i}`, 2)),
      ),
      1,
    );
    expect(c.namedVersion('t0')).toBeUndefined();
    expect(c.namedVersion('t1')).toBe(2);
    expect(c.namedVersion(`t${n - 1}`)).toBe(2);
  });
});
