import { DurableObject } from 'cloudflare:workers';
import {
  type ChangeEntry,
  FEED_RETENTION_MS,
  FeedLog,
  MAX_FEED_ENTRIES,
  type PollAnswer,
} from '../core/feed/feed-log';
import { logError } from '../core/http/log';
import { configureClock, now, runtimeTime } from '../core/time/clock';
import { readChangesAfter, readRecentChanges } from '../db/changes';
import { connectDatabase } from '../db/client';
import type { Bindings } from '../env';

// The feed reads `changes` past its head this often, so a lost append is repaired within it.
const REPAIR_EVERY_MS = 10_000;
// And keeps doing so only while isolates are polling or writes append.
const IDLE_AFTER_MS = 60_000;
const READ_LIMIT = 5_000;

type StoredEntry = {
  seq: number;
  tenant_id: string | null;
  instance_id: string | null;
  version: number;
  at: number;
};

/**
 * Freshness for every tenant (DESIGN.md, Architecture principle 2): one object (per replica) that every
 * isolate polls at most once a second for the changes past its cursor. A thin shell around FeedLog
 * (core/feed/feed-log): the log is a cache of Postgres `changes`, kept in this object's SQLite storage so a
 * restarted feed answers at once, and refreshed by reads of `changes` past its head: on start, when the
 * control plane appends after a commit, and every 10 s.
 */
export class ChangeFeed extends DurableObject<Bindings> {
  private log: FeedLog;
  private syncing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private lastActivityAt = 0;
  private lastReadAt = 0;
  private alarmSet = false;
  private served = { polls: 0, appends: 0, reads: 0, readFailures: 0 };

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    configureClock(env);
    const sql = ctx.storage.sql;
    sql.exec(`create table if not exists entries (
      seq integer primary key, tenant_id text, instance_id text, version integer not null, at integer not null)`);
    const entries = sql
      .exec<StoredEntry>('select seq, tenant_id, instance_id, version, at from entries order by seq')
      .toArray()
      .map((e) => ({
        seq: e.seq,
        tenantId: e.tenant_id,
        instanceId: e.instance_id,
        version: e.version,
        atMs: e.at,
      }));
    this.log = new FeedLog({
      head: ctx.storage.kv.get<number>('head') ?? 0,
      floor: ctx.storage.kv.get<number>('floor') ?? 0,
      entries,
    });
    // On start: what was committed while this object was away. Polls are answered meanwhile, from storage.
    void this.sync().catch(() => {});
  }

  /**
   * An isolate's poll: the entries past its cursor (null: it has none yet, and takes the head). A feed that
   * has never read `changes` (its first start) reads before it answers; if that fails, so does the poll.
   */
  async poll(cursor: number | null): Promise<PollAnswer> {
    this.served.polls += 1;
    this.touch();
    if (!this.log.started) await this.sync();
    // Idle for a while (its repair alarm stops without polls): what was appended meanwhile may have been
    // lost, so read first. If Postgres is down, the answer is what it has.
    else if (now() - this.lastReadAt > REPAIR_EVERY_MS) await this.sync().catch(() => {});
    return this.log.poll(cursor);
  }

  /**
   * After a committed control write: reads `changes` past the head (one read covers every append that
   * arrived meanwhile) and answers once the write's rows are in, so isolates see them on their next poll.
   */
  async append(): Promise<number> {
    this.served.appends += 1;
    this.touch();
    await this.sync();
    return this.log.head;
  }

  stats() {
    return { ...this.served, head: this.log.head, floor: this.log.floor, entries: this.log.size };
  }

  async alarm(): Promise<void> {
    this.alarmSet = false;
    await this.sync().catch(() => {});
    if (now() - this.lastActivityAt < IDLE_AFTER_MS) this.arm();
  }

  private touch() {
    this.lastActivityAt = now();
    if (!this.alarmSet) this.arm();
  }

  private arm() {
    this.alarmSet = true;
    this.ctx.storage.setAlarm(runtimeTime(now() + REPAIR_EVERY_MS));
  }

  /** A read that starts after this call: joins the next one if one is already running. */
  private sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.read().finally(() => {
        this.syncing = null;
      });
      return this.syncing;
    }
    this.queued ??= this.syncing
      .catch(() => {})
      .then(() => {
        this.queued = null;
        return this.sync();
      });
    return this.queued;
  }

  private async read(): Promise<void> {
    this.served.reads += 1;
    const conn = await connectDatabase(this.env).catch((err) => {
      this.served.readFailures += 1;
      throw err;
    });
    try {
      const at = now();
      let fresh: ChangeEntry[];
      const next = this.log.started ? await readChangesAfter(conn.db, this.log.head, READ_LIMIT) : null;
      if (next) {
        fresh = this.log.adoptRead(next, at);
      } else {
        // Never read, or more came than one read takes: start over from the recent tail.
        const recent = await readRecentChanges(
          conn.db,
          FEED_RETENTION_MS,
          Math.min(READ_LIMIT, MAX_FEED_ENTRIES),
        );
        this.log.resetTo(recent.rows, recent.head, at);
        this.ctx.storage.sql.exec('delete from entries');
        fresh = recent.rows;
      }
      this.store(fresh, at);
      this.lastReadAt = at;
    } catch (err) {
      this.served.readFailures += 1;
      logError({ at: 'change-feed', code: 'read_failed' }, err);
      throw err;
    } finally {
      await conn.close();
    }
  }

  /** New rows and the head in one synchronous block (committed together); pruned entries deleted. */
  private store(fresh: ChangeEntry[], at: number) {
    const sql = this.ctx.storage.sql;
    for (const e of fresh) {
      sql.exec(
        'insert or replace into entries (seq, tenant_id, instance_id, version, at) values (?, ?, ?, ?, ?)',
        e.seq,
        e.tenantId,
        e.instanceId,
        e.version,
        at,
      );
    }
    if (this.log.prune(at) > 0) sql.exec('delete from entries where seq <= ?', this.log.floor);
    this.ctx.storage.kv.put('head', this.log.head);
    this.ctx.storage.kv.put('floor', this.log.floor);
  }
}
