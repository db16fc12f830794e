// One isolate of the simulation: a line-by-line model of src/edge/freshness.ts (confirmFreshness, poll,
// pollNow, revalidate) and src/edge/resolve.ts (invalidateTenant, forget, dropTenantBefore, loadForHost with
// the colo cache, loadAndRemember, loadOnce) around the real IsolateCursor, on simulated time. A host is its
// tenant's id (one host per tenant; no unknown hosts). Control writes made through it follow
// src/edge/tenant-changed.ts: commit, invalidate here, then append to every replica for up to 1 s.
import { IsolateCursor, POLL_TIMEOUT_MS } from '../../../../src/core/feed/isolate-cursor';
import type { World } from './world';

const ABANDON_GRACE_MS = 500;
const LOAD_ABANDONED_AFTER_MS = 10_000;
const MAX_OUTDATED_READS = 3;
const APPEND_WAIT_MS = 1_000;

class LoadAbandoned extends Error {}
type Snapshot = { id: string; version: number };
/** A revalidation, for check (d): what was cached, what Postgres said, what was still cached after. */
export type Revalidation = { kept: number; dropped: number; wronglyDropped: string[] };

export class SimIsolate {
  cursor = new IsolateCursor();
  polls = 0;
  /** Requests that waited for a poll. */
  waited = 0;
  revalidations: Revalidation[] = [];
  /** When its polls failed (timed out, or the replica was down): the feed was not reachable. */
  failures: number[] = [];
  private inflight: { promise: Promise<void>; startedAt: number } | null = null;
  private tenants = new Map<string, Snapshot>();
  private hosts = new Map<string, string>();
  private loading = new Map<string, { promise: Promise<Snapshot | null>; startedAt: number }>();
  private invalidations = 0;
  private invalidatedAt = new Map<string, number>();

  constructor(
    readonly index: number,
    readonly colo: number,
    readonly replica: number,
    private w: World,
  ) {}

  private get now() {
    return this.w.s.now;
  }

  /** A data-plane request for `host`: the version it is served on. */
  async request(host: string): Promise<number> {
    await this.confirmFreshness();
    const snapshot = this.cachedForHost(host) ?? (await this.loadOnce(host));
    if (!snapshot) throw new Error(`no tenant at ${host}`);
    return snapshot.version;
  }

  /** A control write of `tenantIds` through this isolate: true when every replica took the append in 1 s. */
  async write(tenantIds: string[], onCommit: (seqs: number[]) => void): Promise<boolean> {
    await this.w.s.sleep(this.w.rng.int(2, 40));
    const rows = this.w.pg.commit(tenantIds);
    this.w.trace(
      `iso${this.index} commit ${rows.length > 3 ? `${rows.length} rows` : rows.map((r) => `${r.tenantId}v${r.version}#${r.seq}`).join(',')}`,
    );
    onCommit(rows.map((r) => r.seq));
    for (const id of tenantIds) this.invalidateTenant(id);
    const append = Promise.all(this.w.replicas.map((r) => this.w.net.append(this, r)));
    return this.w.s
      .withTimeout(append, APPEND_WAIT_MS, () => new Error('Feed append timed out'))
      .then(
        () => true,
        () => false,
      );
  }

  // --- src/edge/freshness.ts ------------------------------------------------------------------------------

  async confirmFreshness(): Promise<void> {
    const now = this.now;
    if (this.cursor.isFresh(now)) {
      if (this.cursor.shouldPollAhead(now) && !this.liveInflight(now)) void this.poll().catch(() => {});
      return;
    }
    if (this.cursor.backingOff(now)) return;
    this.waited += 1;
    await this.poll().catch(() => {});
  }

  private liveInflight(now: number) {
    const i = this.inflight;
    return i && now - i.startedAt < POLL_TIMEOUT_MS + ABANDON_GRACE_MS ? i : null;
  }

  private poll(): Promise<void> {
    const now = this.now;
    const shared = this.liveInflight(now);
    if (shared) {
      const left = shared.startedAt + POLL_TIMEOUT_MS + ABANDON_GRACE_MS - now;
      return this.w.s.withTimeout(shared.promise, left, () => new Error('Feed poll abandoned'));
    }
    const promise: Promise<void> = this.pollNow().finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { promise, startedAt: now };
    return promise;
  }

  private async pollNow(): Promise<void> {
    const sentAt = this.now;
    this.polls += 1;
    this.w.countPoll(this);
    try {
      const replica = this.w.replicas[this.replica]!;
      const answer = await this.w.s.withTimeout(
        this.w.net.poll(this, replica, this.cursor.cursor),
        POLL_TIMEOUT_MS,
        () => new Error('Feed poll timed out'),
      );
      this.w.trace(
        `iso${this.index} poll sent ${this.now - sentAt} ms ago: cursor ${this.cursor.cursor} → ${answer.cursor} covered ${answer.covered} ${answer.entries
          .filter((e) => e.tenantId?.startsWith('t'))
          .map((e) => `${e.tenantId}v${e.version}#${e.seq}`)
          .join(',')}`,
      );
      if (this.cursor.cursor === null) await this.revalidate();
      const effects = this.cursor.accept(answer, sentAt);
      // Proposed for src/edge/freshness.ts: after a gap no request joins a load begun before it.
      if (this.w.sc.edgeFixes && effects.revalidate) this.loading.clear();
      for (const { tenantId, version } of effects.named) this.dropTenantBefore(tenantId, version);
      if (effects.revalidate) {
        await this.revalidate();
        this.cursor.revalidated(answer.cursor, sentAt);
      }
    } catch (err) {
      this.w.trace(
        `iso${this.index} poll sent ${this.now - sentAt} ms ago failed: ${(err as Error).message}`,
      );
      this.failures.push(this.now);
      this.cursor.failed(this.now);
      throw err;
    }
  }

  private async revalidate(): Promise<void> {
    const cached = [...this.tenants].map(([id, s]) => [id, s.version] as const);
    if (cached.length === 0) return;
    const before = new Map(this.invalidatedAt);
    await this.w.s.sleep(this.w.rng.int(2, 40));
    this.w.pg.reads.revalidations += 1;
    const current = new Map(cached.map(([id]) => [id, this.w.pg.version(id)]));
    this.w.trace(
      `iso${this.index} revalidate ${cached.map(([id, v]) => `${id}v${v}→${current.get(id)}`).join(',')}`,
    );
    await this.w.s.sleep(this.w.rng.int(1, 20));
    // Proposed for src/edge/freshness.ts: name what was read before dropping anything.
    if (this.w.sc.edgeFixes) this.cursor.learned(current);
    for (const [id, version] of cached) {
      const now = current.get(id);
      if (now !== version) this.dropTenantBefore(id, Math.max(now ?? 0, version) + 1);
    }
    const r: Revalidation = { kept: 0, dropped: 0, wronglyDropped: [] };
    for (const [id, version] of cached) {
      if (current.get(id) !== version) r.dropped += 1;
      else if (this.tenants.get(id)?.version === version) r.kept += 1;
      else if (this.invalidatedAt.get(id) === before.get(id)) r.wronglyDropped.push(id);
    }
    this.revalidations.push(r);
  }

  // --- src/edge/resolve.ts --------------------------------------------------------------------------------

  invalidateTenant(tenantId: string) {
    this.forget(tenantId, false);
  }

  private forget(tenantId: string, keepHosts: boolean) {
    if (tenantId.startsWith('t'))
      this.w.trace(`iso${this.index} forget ${tenantId} (had ${this.tenants.get(tenantId)?.version})`);
    this.invalidatedAt.set(tenantId, ++this.invalidations);
    this.loading.clear();
    this.tenants.delete(tenantId);
    if (!keepHosts) this.hosts.delete(tenantId);
  }

  private dropTenantBefore(tenantId: string, version: number) {
    const cached = this.tenants.get(tenantId);
    if (!cached || cached.version < version) this.forget(tenantId, true);
  }

  private cachedForHost(host: string): Snapshot | undefined {
    const tenantId = this.hosts.get(host);
    return tenantId === undefined ? undefined : this.tenants.get(tenantId);
  }

  private async loadForHost(host: string): Promise<Snapshot | null> {
    const known = this.hosts.get(host);
    const version = known ? this.cursor.namedVersion(known) : undefined;
    if (known && version !== undefined) {
      const hit = await this.w.coloRead(this.colo, known, version);
      if (hit) {
        this.w.trace(`iso${this.index} colo hit ${known}v${version}`);
        this.w.pg.reads.coloHits += 1;
        return { id: known, version };
      }
    }
    if (known) this.w.pg.reads.reloads += 1;
    // Postgres is read early; the answer may come much later (a slow connection, a large record).
    const { s, rng, pg } = this.w;
    await s.sleep(rng.int(2, 40));
    pg.reads.loads += 1;
    const record = { id: host, version: pg.version(host) };
    this.w.trace(`iso${this.index} load read ${host}v${record.version}`);
    const slow = rng.chance(this.w.sc.slowLoadRate);
    await s.sleep(slow ? (this.w.sc.slowLoadMs ?? rng.int(300, 3_000)) : rng.int(1, 20));
    this.w.coloStore(this.colo, record.id, record.version);
    return record;
  }

  private async loadAndRemember(host: string): Promise<Snapshot | null> {
    const seen = this.invalidations;
    const gaps = this.cursor.gaps;
    let snapshot = await this.loadForHost(host);
    for (let read = 1; snapshot && this.cursor.isOutdated(snapshot.id, snapshot.version); read++) {
      if (read === MAX_OUTDATED_READS) return snapshot;
      snapshot = await this.loadForHost(host);
    }
    let changedAt = snapshot ? (this.invalidatedAt.get(snapshot.id) ?? 0) : this.invalidations;
    // Proposed for src/edge/resolve.ts: a load begun before a gap (the feed may have skipped changes that
    // its revalidation did not see, the tenant not being cached) is not cached either.
    if (this.w.sc.edgeFixes && this.cursor.gaps !== gaps) changedAt = Number.POSITIVE_INFINITY;
    this.w.trace(
      `iso${this.index} load done ${host}v${snapshot?.version} ${changedAt > seen ? 'not cached' : 'cached'}`,
    );
    if (changedAt > seen) return snapshot;
    if (snapshot) {
      this.hosts.set(host, snapshot.id);
      this.tenants.set(snapshot.id, snapshot);
    }
    return snapshot;
  }

  private async loadOnce(host: string): Promise<Snapshot | null> {
    const shared = this.loading.get(host);
    const age = shared ? this.now - shared.startedAt : Number.POSITIVE_INFINITY;
    if (shared && age < LOAD_ABANDONED_AFTER_MS) {
      try {
        return await this.w.s.withTimeout(
          shared.promise,
          LOAD_ABANDONED_AFTER_MS - age,
          () => new LoadAbandoned(),
        );
      } catch (err) {
        if (!(err instanceof LoadAbandoned)) throw err;
      }
    }
    const promise: Promise<Snapshot | null> = this.loadAndRemember(host).finally(() => {
      if (this.loading.get(host)?.promise === promise) this.loading.delete(host);
    });
    this.loading.set(host, { promise, startedAt: this.now });
    return promise;
  }
}
