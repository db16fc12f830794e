// What the freshness simulation (./world) checks, on every request served:
// (a) no request is served on a snapshot older than a change acknowledged (every replica answered the
//     append within 1 s) more than FRESH_MS before the request arrived, while its feed is reachable;
// (b) a change whose append was lost is repaired: a request arriving more than 10 s + 1 s (and the reads'
//     own time) after the commit is served on it, while its feed is reachable;
// (c) the isolate that made a change serves it on every request that arrives after the write answered;
// and on every revalidation: (d) what Postgres confirmed stays cached (only the rest is dropped).
// "Reachable": none of the isolate's polls failed from 8 s before the request until it was served (a failed
// poll makes an isolate back off for up to 5 s and serve what it has, by design).
import { FRESH_MS } from '../../../../src/core/feed/isolate-cursor';
import type { SimIsolate } from './isolate';
import { MAX_READ_MS } from './replica';
import type { World } from './world';

const REACH_MS = 8_000;
const START = Date.parse('2024-03-05T10:00:00Z');
/** A lost append is read by the repair alarm within 10 s of the last read, which may have just missed it. */
export const REPAIR_BOUND_MS = 10_000 + FRESH_MS + 3 * MAX_READ_MS + 500;

type Change = {
  tenant: string;
  version: number;
  seq: number;
  writer: number;
  committedAt: number;
  answeredAt: number | null;
  acked: boolean;
};
export type Violation = { rule: 'a' | 'b' | 'c' | 'd'; message: string };

export class Checks {
  troubles: { iso: number; from: number; to: number }[] = [];
  violations: Violation[] = [];
  stats = {
    requests: 0,
    served: 0,
    writes: 0,
    acked: 0,
    staleWithinFresh: 0,
    maxStaleAfterAckMs: 0,
    maxUnackedLagMs: 0,
    revalidations: 0,
    keptOnRevalidation: 0,
  };
  private changes = new Map<string, Change[]>();

  constructor(private w: World) {}

  inTrouble(iso: number, at: number): boolean {
    return this.troubles.some((t) => t.iso === iso && t.from <= at && at < t.to);
  }

  /** None of this isolate's polls failed from 8 s before `from` until `to`: its feed was reachable. */
  reachable(iso: SimIsolate, from: number, to: number): boolean {
    return !iso.failures.some((f) => f > from - REACH_MS && f <= to);
  }

  async request(iso: SimIsolate, host: string) {
    const arrivedAt = this.w.s.now;
    this.stats.requests += 1;
    const version = await iso.request(host);
    this.w.trace(`iso${iso.index} served ${host}v${version} (arrived +${arrivedAt - START})`);
    this.stats.served += 1;
    this.served(iso, host, version, arrivedAt);
  }

  async write(iso: SimIsolate, tenants: string[]) {
    this.stats.writes += 1;
    const made: Change[] = [];
    const acked = await iso.write(tenants, (seqs) => {
      for (const seq of seqs) {
        const row = this.w.pg.rowOf(seq)!;
        const c: Change = {
          tenant: row.tenantId!,
          version: row.version,
          seq,
          writer: iso.index,
          committedAt: this.w.s.now,
          answeredAt: null,
          acked: false,
        };
        made.push(c);
        const list = this.changes.get(c.tenant) ?? [];
        list.push(c);
        this.changes.set(c.tenant, list);
      }
    });
    if (acked) this.stats.acked += 1;
    this.w.trace(`iso${iso.index} write answered ${acked ? 'acked' : 'delayed'}`);
    for (const c of made) {
      c.answeredAt = this.w.s.now;
      c.acked = acked;
    }
  }

  private served(iso: SimIsolate, host: string, version: number, arrivedAt: number) {
    const ok = this.reachable(iso, arrivedAt, this.w.s.now);
    for (const c of this.changes.get(host) ?? []) {
      if (c.version <= version) continue;
      const at = `isolate ${iso.index} (replica ${iso.replica}) served ${host} v${version} to a request that arrived ${arrivedAt - c.committedAt} ms after v${c.version} (seq ${c.seq}) committed at +${c.committedAt - START} ms`;
      if (c.acked && c.answeredAt !== null && arrivedAt > c.answeredAt) {
        const after = arrivedAt - c.answeredAt;
        if (after <= FRESH_MS) this.stats.staleWithinFresh += 1;
        else if (ok) this.violation('a', `${at}, ${after} ms after its append was acknowledged`);
        if (ok) this.stats.maxStaleAfterAckMs = Math.max(this.stats.maxStaleAfterAckMs, after);
      }
      if (!c.acked && ok) {
        const lag = arrivedAt - c.committedAt;
        if (lag > REPAIR_BOUND_MS) this.violation('b', `${at}; its append was lost`);
        else this.stats.maxUnackedLagMs = Math.max(this.stats.maxUnackedLagMs, lag);
      }
      if (c.writer === iso.index && c.answeredAt !== null && arrivedAt > c.answeredAt)
        this.violation('c', `${at}, through this isolate`);
    }
  }

  private violation(rule: Violation['rule'], message: string) {
    if (this.violations.length < 20) this.violations.push({ rule, message });
  }

  result() {
    for (const iso of this.w.isolates) {
      for (const r of iso.revalidations) {
        this.stats.revalidations += 1;
        this.stats.keptOnRevalidation += r.kept;
        for (const id of r.wronglyDropped)
          this.violation('d', `isolate ${iso.index} dropped ${id} that its revalidation confirmed`);
      }
    }
    const pollsPerIsolate = this.w.isolates.map((i) => i.polls);
    return {
      violations: this.violations,
      stats: { ...this.stats, maxPollsPerSecond: this.w.maxPollsPerSecond, pollsPerIsolate },
      replicas: this.w.replicas.map((r) => ({ ...r.counts })),
      postgres: { ...this.w.pg.reads, writes: this.w.pg.writes },
    };
  }
}
