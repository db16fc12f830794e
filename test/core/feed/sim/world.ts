// The freshness simulation: isolates (./isolate) in colos, ChangeFeed replicas (./replica), one Postgres
// (./postgres), a network that delays and loses messages, random traffic and control writes, replica crashes
// (from storage or from nothing) and network trouble, all on simulated time. ./checks says what must hold.
import type { PollAnswer } from '../../../../src/core/feed/feed-log';
import { Checks } from './checks';
import { SimIsolate } from './isolate';
import { SimPostgres } from './postgres';
import { FeedDown, SimReplica } from './replica';
import { type Rng, Scheduler, seeded } from './scheduler';

export type FeedScenario = {
  seed: number;
  isolates: number;
  colos: number;
  replicas: number;
  /** Tenants with traffic; a bulk write also touches 600 without any. */
  tenants: number;
  durationMs: number;
  /** Per isolate (see `steady`): a sparse isolate's polls are awaited, not made ahead of time. */
  requestsPerSecond: number;
  writes: number;
  appendLoss: number;
  crashes: number;
  troubles: number;
  slowLoadRate: number;
  /** Every isolate at the full rate (the cost figures); otherwise every third gets a tenth of it. */
  steady?: boolean;
  /** How long a slow load takes to return after reading Postgres (default 300–3,000 ms). */
  slowLoadMs?: number;
  /** One write of more rows than a poll carries: cursors behind it are not covered. */
  bulk: boolean;
  /** 16 minutes in the middle with traffic on isolate 0 only: the others' cursors fall out of the log. */
  idleGap: boolean;
  /** The fix proposed for src/gate/change-feed.ts (./replica). */
  readBeforeStalePoll: boolean;
  /**
   * The fixes proposed for src/edge (./isolate): a revalidation names the versions it read, and a load begun
   * before an answer that asked for one is neither joined nor cached.
   */
  edgeFixes: boolean;
  trace?: boolean;
};

const START = Date.parse('2024-03-05T10:00:00Z');
const GAP_MS = 16 * 60_000;

export class World {
  s = new Scheduler(START);
  rng: Rng;
  pg: SimPostgres;
  replicas: SimReplica[];
  isolates: SimIsolate[];
  checks: Checks;
  private colos: Map<string, true>[];
  private pollSeconds = new Map<string, number>();

  constructor(readonly sc: FeedScenario) {
    this.rng = seeded(sc.seed);
    const hosts = [...this.hostNames(), ...Array.from({ length: sc.bulk ? 600 : 0 }, (_, i) => `cold${i}`)];
    this.pg = new SimPostgres(this.s, hosts, START - 3_600_000);
    this.replicas = Array.from(
      { length: sc.replicas },
      (_, i) => new SimReplica(i, this.s, this.pg, this.rng, sc.readBeforeStalePoll),
    );
    for (const r of this.replicas) r.trace = (line) => this.trace(line);
    this.colos = Array.from({ length: sc.colos }, () => new Map());
    this.isolates = Array.from(
      { length: sc.isolates },
      (_, i) => new SimIsolate(i, i % sc.colos, this.rng.int(0, sc.replicas - 1), this),
    );
    this.checks = new Checks(this);
  }

  hostNames(): string[] {
    return Array.from({ length: this.sc.tenants }, (_, i) => `t${i}`);
  }

  /** The network between isolates and replicas: 1–30 ms each way, sometimes 100–400 ms; lost in trouble. */
  net = {
    poll: async (iso: SimIsolate, replica: SimReplica, cursor: number | null): Promise<PollAnswer> => {
      if (this.checks.inTrouble(iso.index, this.s.now) && this.rng.chance(0.8)) return never();
      await this.s.sleep(this.delay());
      try {
        const answer = await replica.poll(cursor);
        await this.s.sleep(this.delay());
        return answer;
      } catch (err) {
        await this.s.sleep(this.delay());
        throw err;
      }
    },
    append: async (_iso: SimIsolate, replica: SimReplica): Promise<number> => {
      if (this.rng.chance(this.sc.appendLoss)) return never();
      await this.s.sleep(this.delay());
      const head = await replica.append();
      await this.s.sleep(this.delay());
      return head;
    },
  };

  private delay() {
    return this.rng.chance(0.05) ? this.rng.int(100, 400) : this.rng.int(1, 30);
  }

  async coloRead(colo: number, tenantId: string, version: number): Promise<boolean> {
    await this.s.sleep(this.rng.int(1, 5));
    return this.colos[colo]!.has(`${tenantId}@${version}`);
  }

  coloStore(colo: number, tenantId: string, version: number) {
    this.s.after(this.rng.int(5, 40), () => this.colos[colo]!.set(`${tenantId}@${version}`, true));
  }

  lines: string[] = [];
  /** Scripts may watch what happens (every traced line, traced or not). */
  onTrace?: (line: string) => void;
  trace(line: string) {
    this.onTrace?.(line);
    if (this.sc.trace) this.lines.push(`+${this.s.now - START} ${line}`);
  }

  countPoll(iso: SimIsolate) {
    const k = `${iso.index}@${Math.floor(this.s.now / 1000)}`;
    this.pollSeconds.set(k, (this.pollSeconds.get(k) ?? 0) + 1);
  }

  /** The most polls any isolate sent within one second of simulated time. */
  get maxPollsPerSecond(): number {
    return Math.max(0, ...this.pollSeconds.values());
  }

  /** Builds the schedule; `run` plays it. */
  schedule(): { endsAt: number } {
    const { sc, rng, s } = this;
    const gap = sc.idleGap ? GAP_MS : 0;
    const half = Math.floor(sc.durationMs / 2);
    const active = (t: number) => t < START + half || t >= START + half + gap;
    const endsAt = START + sc.durationMs + gap;
    const hosts = this.hostNames();
    for (const iso of this.isolates) {
      const rate = (iso.index % 3 === 2 && !sc.steady ? 0.1 : 1) * sc.requestsPerSecond;
      for (let t = START + rng.int(0, 1000); t < endsAt; t += -Math.log(1 - rng.next()) * (1000 / rate)) {
        if (!active(t) && iso.index !== 0) continue;
        const host = hosts[Math.min(hosts.length - 1, Math.floor(hosts.length * rng.next() ** 2))]!;
        s.at(t, () => void this.checks.request(iso, host));
      }
    }
    const writeAt = () => START + rng.int(0, sc.durationMs + gap);
    for (let i = 0; i < sc.writes; i++) {
      const tenants = rng.chance(0.2) ? [rng.pick(hosts), rng.pick(hosts)] : [rng.pick(hosts)];
      const by = rng.int(0, sc.isolates - 1);
      s.at(writeAt(), () => void this.checks.write(this.isolates[by]!, [...new Set(tenants)]));
    }
    if (sc.bulk) {
      const cold = Array.from({ length: 600 }, (_, i) => `cold${i}`);
      s.at(writeAt(), () => void this.checks.write(this.isolates[0]!, [...cold, rng.pick(hosts)]));
    }
    for (let i = 0; i < sc.crashes; i++) {
      const replica = this.replicas[rng.int(0, sc.replicas - 1)]!;
      const at = writeAt();
      const downMs = rng.chance(0.5) ? rng.int(0, 50) : rng.int(50, 3_000);
      const fromNothing = rng.chance(0.3);
      s.at(at, () => replica.crash(downMs, fromNothing));
    }
    for (let i = 0; i < sc.troubles; i++) {
      const from = writeAt();
      this.checks.troubles.push({ iso: rng.int(0, sc.isolates - 1), from, to: from + rng.int(1_000, 5_000) });
    }
    return { endsAt };
  }

  async run() {
    const { endsAt } = this.schedule();
    await this.s.run(endsAt + 30_000);
    return this.checks.result();
  }
}

const never = <T>() => new Promise<T>(() => {});

export { FeedDown };
