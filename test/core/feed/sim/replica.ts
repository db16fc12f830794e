// One ChangeFeed replica of the simulation, a line-by-line model of src/gate/change-feed.ts around the real
// FeedLog: a read of `changes` past the head on start, on every append (joining the next read when one is
// running), and on an alarm every 10 s while isolates poll or writes append (for 60 s after the last).
// Reads are two statements, as src/db/changes.ts makes them: the rows, then max(seq). Storage (head, floor,
// entries, the alarm) outlives a restart; a restart "from nothing" loses it.
import {
  FEED_RETENTION_MS,
  FeedLog,
  type FeedState,
  MAX_FEED_ENTRIES,
  type PollAnswer,
} from '../../../../src/core/feed/feed-log';
import type { SimPostgres } from './postgres';
import type { Rng, Scheduler } from './scheduler';

const REPAIR_EVERY_MS = 10_000;
const IDLE_AFTER_MS = 60_000;
const READ_LIMIT = 5_000;
/** Longest a read of `changes` takes here (connect and two statements). */
export const MAX_READ_MS = 3 * 30;

export class FeedDown extends Error {}

class Incarnation {
  log: FeedLog;
  syncing: Promise<void> | null = null;
  queued: Promise<void> | null = null;
  lastActivityAt = 0;
  lastReadAt = Number.NEGATIVE_INFINITY;
  alarmSet = false;
  alive = true;

  constructor(stored: { state: FeedState; readAt: number } | null) {
    this.log = new FeedLog(stored?.state);
    this.lastReadAt = stored?.readAt ?? Number.NEGATIVE_INFINITY;
  }
}

export class SimReplica {
  private storage: { state: FeedState; readAt: number } | null = null;
  private alarmAt: number | null = null;
  private alarm: { cancel(): void } | null = null;
  private inc: Incarnation | null;
  counts = { polls: 0, appends: 0, reads: 0 };
  trace?: (line: string) => void;

  constructor(
    readonly index: number,
    private s: Scheduler,
    private pg: SimPostgres,
    private rng: Rng,
    /**
     * A fix proposed for src/gate/change-feed.ts: a poll to a log that has not read for longer than the
     * repair period (the alarm stopped while idle) waits for a read first.
     */
    private readBeforeStalePoll: boolean,
  ) {
    this.inc = this.start();
  }

  get up(): boolean {
    return this.inc !== null;
  }

  /** What the replica knows now (for the checks): its head, or null while down. */
  get log(): FeedLog | null {
    return this.inc?.log ?? null;
  }

  /** The object goes away now (its in-flight reads die with it) and comes back after `downMs`. */
  crash(downMs: number, fromNothing: boolean) {
    if (!this.inc) return;
    this.trace?.(`feed-${this.index} crash for ${downMs} ms${fromNothing ? ' from nothing' : ''}`);
    this.inc.alive = false;
    this.inc = null;
    if (fromNothing) {
      this.storage = null;
      this.setAlarm(null);
    }
    this.s.after(downMs, () => {
      this.inc = this.start();
    });
  }

  async poll(cursor: number | null): Promise<PollAnswer> {
    const inc = this.live();
    this.counts.polls += 1;
    this.touch(inc);
    if (!inc.log.started) await this.sync(inc);
    else if (this.readBeforeStalePoll && this.s.now - inc.lastReadAt > REPAIR_EVERY_MS + MAX_READ_MS)
      await this.sync(inc);
    return inc.log.poll(cursor);
  }

  async append(): Promise<number> {
    const inc = this.live();
    this.counts.appends += 1;
    this.touch(inc);
    await this.sync(inc);
    return inc.log.head;
  }

  private live(): Incarnation {
    if (!this.inc) throw new FeedDown(`feed-${this.index} is down`);
    return this.inc;
  }

  private start(): Incarnation {
    const inc = new Incarnation(this.storage);
    void this.sync(inc).catch(() => {});
    // The alarm is durable: one due while the object was away fires now.
    if (this.alarmAt !== null) this.setAlarm(this.alarmAt);
    return inc;
  }

  private setAlarm(at: number | null) {
    this.alarm?.cancel();
    this.alarmAt = at;
    this.alarm = at === null ? null : this.s.at(at, () => void this.onAlarm());
  }

  private async onAlarm() {
    const inc = this.inc;
    this.alarmAt = null;
    if (!inc) return;
    inc.alarmSet = false;
    await this.sync(inc).catch(() => {});
    if (inc.alive && this.s.now - inc.lastActivityAt < IDLE_AFTER_MS) this.arm(inc);
  }

  private touch(inc: Incarnation) {
    inc.lastActivityAt = this.s.now;
    if (!inc.alarmSet) this.arm(inc);
  }

  private arm(inc: Incarnation) {
    inc.alarmSet = true;
    this.setAlarm(this.s.now + REPAIR_EVERY_MS);
  }

  private sync(inc: Incarnation): Promise<void> {
    if (!inc.syncing) {
      inc.syncing = this.read(inc).finally(() => {
        inc.syncing = null;
      });
      return inc.syncing;
    }
    inc.queued ??= inc.syncing
      .catch(() => {})
      .then(() => {
        inc.queued = null;
        return this.sync(inc);
      });
    return inc.queued;
  }

  private async read(inc: Incarnation): Promise<void> {
    this.counts.reads += 1;
    this.pg.reads.feedReads += 1;
    const statement = () => this.s.sleep(this.rng.int(1, 30));
    await statement(); // connect
    const at = this.s.now;
    if (inc.log.started) {
      await statement();
      const rows = this.pg.rowsAfter(inc.log.head, READ_LIMIT + 1);
      if (!inc.alive) throw new FeedDown('gone');
      if (rows.length <= READ_LIMIT) {
        const from = inc.log.head;
        inc.log.adoptRead(rows, at);
        this.trace?.(`feed-${this.index} read past ${from}: ${rows.length} rows → head ${inc.log.head}`);
        return this.store(inc, at);
      }
    }
    await statement();
    const recent = this.pg.recent(FEED_RETENTION_MS, Math.min(READ_LIMIT, MAX_FEED_ENTRIES));
    await statement();
    const head = this.pg.maxSeq();
    if (!inc.alive) throw new FeedDown('gone');
    inc.log.resetTo(recent, head, at);
    this.trace?.(
      `feed-${this.index} read from nothing: ${recent.length} rows, max(seq) ${head} → floor ${inc.log.floor} head ${inc.log.head}`,
    );
    this.store(inc, at);
  }

  private store(inc: Incarnation, at: number) {
    inc.log.prune(at);
    inc.lastReadAt = at;
    this.storage = { state: inc.log.state(), readAt: at };
  }
}
