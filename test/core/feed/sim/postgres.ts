// The simulation's Postgres: tenant versions and the `changes` table. A write commits at one instant; its rows
// get their seq in commit order (as the deferred trigger under one advisory lock makes them), so "every row
// past n" read at some instant never misses a row that commits later with a smaller seq.
import type { ChangeEntry } from '../../../../src/core/feed/feed-log';
import type { Scheduler } from './scheduler';

type Row = ChangeEntry & { at: number };

export class SimPostgres {
  private versions = new Map<string, number>();
  private rows: Row[] = [];
  /** Reads of each kind, for the cost figures: `reloads` are the loads of a tenant the isolate knew (after a
   * change), `coloHits` the reloads the colo cache answered instead. */
  reads = { loads: 0, reloads: 0, coloHits: 0, revalidations: 0, feedReads: 0 };
  writes = 0;

  constructor(
    private s: Scheduler,
    tenants: string[],
    createdAt: number,
  ) {
    for (const t of tenants) {
      this.versions.set(t, 1);
      this.rows.push({ seq: this.rows.length + 1, tenantId: t, instanceId: null, version: 1, at: createdAt });
    }
  }

  /** One transaction bumping each tenant's version, committed now; its rows, in seq order. */
  commit(tenantIds: string[]): ChangeEntry[] {
    this.writes += 1;
    return tenantIds.map((tenantId) => {
      const version = (this.versions.get(tenantId) ?? 0) + 1;
      this.versions.set(tenantId, version);
      const row = { seq: this.rows.length + 1, tenantId, instanceId: null, version, at: this.s.now };
      this.rows.push(row);
      return strip(row);
    });
  }

  version(tenantId: string): number {
    return this.versions.get(tenantId) ?? 0;
  }

  /** `select … where seq > after order by seq limit n` at this instant. */
  rowsAfter(after: number, limit: number): ChangeEntry[] {
    const from = this.rows.findIndex((r) => r.seq > after);
    return from < 0 ? [] : this.rows.slice(from, from + limit).map(strip);
  }

  /** The last rows committed within `withinMs`, at most `limit`, in seq order. */
  recent(withinMs: number, limit: number): ChangeEntry[] {
    const fresh = this.rows.filter((r) => r.at > this.s.now - withinMs);
    return fresh.slice(-limit).map(strip);
  }

  maxSeq(): number {
    return this.rows.length;
  }

  rowOf(seq: number): ChangeEntry | undefined {
    const row = this.rows[seq - 1];
    return row ? strip(row) : undefined;
  }
}

const strip = ({ at: _, ...entry }: Row): ChangeEntry => entry;
