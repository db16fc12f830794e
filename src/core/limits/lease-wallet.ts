// The isolate's side of the leases (./lease): one wallet per limited tenant per isolate, in memory.
//   take(counterIds, nowMs)            admit (one token from every counter) or say why not
//   refreshAt(counterIds, nowMs)       when a call should start in the background (take() still says ok)
//   buildRequest(specs, version, now)  the next LeaseRequest, carrying reports
//   accept(response, nowMs)            adopt the gate's answer; false for unknown or repeated ones
//   dropGrants()                       a limit changed: nothing granted or asked before is spent; all reported
//
// Edge pattern: r = take(); if r.reason === 'need_lease', await the isolate's single in-flight call (build,
// send, accept) and take() again; `rate_limited` / `quota_exceeded` answer 429 at once. A call that fails
// needs nothing: whatever it carried is sent again by the next one, and the gate ignores what it has already
// applied. Near the end of a budget a lease may carry a single token, so a burst waits several round trips;
// every round trip admits at least one waiting request or turns into a 429, so bound the wait, not the tries.
import { type Demand, demandRate } from './demand';
import {
  type CounterSpec,
  LEASE_MAX_TTL_MS,
  type LeaseRequest,
  type LeaseResponse,
  type Report,
} from './lease';
import type { RateLimitPolicy } from './ratelimit-headers';
import type { WindowKind } from './windows';

// Start the next call when what is held would run out (or lapse) within this long at the current demand.
const REFRESH_AHEAD_MS = 1_000;
// A lease response this late is treated as lost; its reports are sent again anyway.
const INFLIGHT_GIVE_UP_MS = 30_000;

export type TakeResult =
  | { ok: true; policies: RateLimitPolicy[] }
  /** No spendable grant: ask the gate, then retry. */
  | { ok: false; reason: 'need_lease' }
  /** The gate has none left either: answer 429 now. The day window wins when both are exhausted. */
  | {
      ok: false;
      reason: 'rate_limited' | 'quota_exceeded';
      counter: string;
      retryAfter: number;
      policies: RateLimitPolicy[];
    };

// All times below are the isolate's own clock.
type Held = {
  leaseId: string;
  counter: string;
  tokens: number;
  used: number;
  expiresAt: number;
  /** It lapses with its window: a call made sooner could not outlive it either. */
  endsWithWindow: boolean;
};
type View = {
  kind: WindowKind;
  limit: number;
  remaining: number;
  expiresAt: number;
  resetAt: number;
  sentAt: number;
  roundTripMs: number;
};

export class LeaseWallet {
  private seq = 0;
  private held: Held[] = [];
  /** Grants that can no longer be spent from, waiting for a call to report them. */
  private closed: Report[] = [];
  /** The newest grant's view of each counter: limit, what the gate had left, when the window ends. */
  private views = new Map<string, View>();
  private demand = new Map<string, Demand>();
  private inflight = new Map<string, { sentAt: number; reports: Report[]; drops: number }>();
  /** How many times dropGrants ran: an answer to a call sent before the last one is not spent from. */
  private drops = 0;

  constructor(readonly isolateId: string) {}

  /** Grants waiting to be reported: the wallet may not be forgotten before a call carries them. */
  get owesReports(): boolean {
    return this.closed.length > 0 || this.held.length > 0;
  }

  take(counterIds: string[], nowMs: number): TakeResult {
    const counters = counterIds.length > 1 ? [...new Set(counterIds)] : counterIds;
    this.close(nowMs);
    const picks: Held[] = [];
    let exhausted: { counter: string; view: View } | null = null;
    let missing = false;
    for (const id of counters) {
      const held = this.spendable(id, nowMs);
      if (held) {
        picks.push(held);
        continue;
      }
      const view = this.views.get(id);
      if (view && view.expiresAt > nowMs && view.remaining === 0) {
        if (!exhausted || view.resetAt > exhausted.view.resetAt) exhausted = { counter: id, view };
      } else {
        missing = true;
      }
    }
    if (exhausted) {
      this.countDemand(counters, nowMs);
      return {
        ok: false,
        reason: exhausted.view.kind === 'day' ? 'quota_exceeded' : 'rate_limited',
        counter: exhausted.counter,
        retryAfter: Math.max(1, Math.ceil((exhausted.view.resetAt - nowMs) / 1000)),
        policies: this.policies(counters, nowMs),
      };
    }
    if (missing) {
      for (const id of counters) this.demandOf(id, nowMs).pending += 1;
      return { ok: false, reason: 'need_lease' };
    }
    // Only now, with a token from every counter in hand, is anything spent.
    for (const held of picks) held.used += 1;
    this.countDemand(counters, nowMs);
    return { ok: true, policies: this.policies(counters, nowMs) };
  }

  /**
   * When the next call should start: now, a moment within the next second, or null (what is held lasts). A
   * call is due when what is held of a counter would run out, or lapse before its window ends, within a
   * second at the current demand. It waits, what is held still serving, for the moment that buys the most:
   * 30 s before the window's end (sooner would lapse inside it), or in its last second the end itself.
   */
  refreshAt(counterIds: string[], nowMs: number): number | null {
    const soon = nowMs + REFRESH_AHEAD_MS;
    let at: number | null = null;
    const due = (t: number) => {
      if (at === null || t < at) at = t;
    };
    for (const id of counterIds) {
      const view = this.views.get(id);
      if (view && view.remaining === 0 && view.expiresAt > nowMs) continue;
      const d = this.demand.get(id);
      const rate = d ? demandRate(d, nowMs) : 0;
      if (view && view.resetAt > nowMs && view.resetAt <= soon) {
        // Only for a tenant busy enough that the next window's first second likely brings a request: one
        // more besides this in the last two seconds.
        if (d && d.previous + d.current >= 2) due(view.resetAt);
        continue;
      }
      const need = d ? Math.ceil((rate * REFRESH_AHEAD_MS) / 1000) : 1;
      if (this.tokensIn(id, (h) => h.expiresAt > soon || (h.endsWithWindow && h.expiresAt > nowMs)) >= need)
        continue;
      // The first moment a call reaches the gate no more than 30 s before the window's end (resetAt is
      // taken from when the last answer came: a round trip later than the end).
      const renewFrom = view ? view.resetAt - LEASE_MAX_TTL_MS - view.roundTripMs : nowMs;
      // Worth waiting for while what is held serves until then; a request in the round trip after it lapses
      // joins the call.
      const lasts = renewFrom > nowMs && this.tokensIn(id, (h) => h.expiresAt > renewFrom) >= need;
      due(lasts ? renewFrom : nowMs);
    }
    return at;
  }

  buildRequest(specs: CounterSpec[], version: number, nowMs: number): LeaseRequest {
    this.close(nowMs);
    this.collect(nowMs);
    this.seq += 1;
    const counters: LeaseRequest['counters'] = [];
    for (const spec of specs) {
      const d = this.demand.get(spec.id);
      const rate = d ? demandRate(d, nowMs) + d.pending : 1;
      if (d) d.pending = 0;
      counters.push({ ...spec, demandPerSecond: Math.max(1, rate) });
    }
    const reports = [...this.closed];
    const leaseId = `${this.isolateId}:${this.seq}`;
    this.inflight.set(leaseId, { sentAt: nowMs, reports, drops: this.drops });
    return { isolateId: this.isolateId, seq: this.seq, version, counters, reports };
  }

  accept(resp: LeaseResponse, nowMs: number): boolean {
    const call = this.inflight.get(resp.leaseId);
    if (!call) return false;
    this.inflight.delete(resp.leaseId);
    const { sentAt } = call;
    const acked = new Set(call.reports);
    this.closed = this.closed.filter((r) => !acked.has(r));
    if (call.drops !== this.drops) {
      // Asked under the limits a change has since replaced: its tokens go back unspent, on the next call.
      for (const g of resp.grants) {
        if (g.tokens > 0) this.closed.push({ leaseId: resp.leaseId, counter: g.counter, used: 0 });
      }
      return true;
    }
    for (const g of resp.grants) {
      const expiresAt = sentAt + g.ttlMs;
      if (g.tokens > 0) {
        this.held.push({
          leaseId: resp.leaseId,
          counter: g.counter,
          tokens: g.tokens,
          used: 0,
          expiresAt,
          endsWithWindow: g.ttlMs >= g.resetMs,
        });
      }
      const view = this.views.get(g.counter);
      if (!view || sentAt >= view.sentAt) {
        // Received time, not send time: a Retry-After a few ms late is harmless, one early earns a 429.
        const resetAt = nowMs + g.resetMs;
        this.views.set(g.counter, {
          kind: g.kind,
          limit: g.limit,
          remaining: g.remaining,
          expiresAt,
          resetAt,
          sentAt,
          roundTripMs: Math.max(0, nowMs - sentAt),
        });
      }
    }
    return true;
  }

  /**
   * A limit changed: tokens granted under the old one are not spent, and are reported (refunded); so are
   * those of a call already on its way, when its answer comes.
   */
  dropGrants(): void {
    this.drops += 1;
    for (const h of this.held) this.closed.push({ leaseId: h.leaseId, counter: h.counter, used: h.used });
    this.held = [];
    this.views.clear();
  }

  /** The unexpired grant of a counter with tokens left that expires first, so fewer tokens lapse. */
  private spendable(counter: string, nowMs: number): Held | undefined {
    let best: Held | undefined;
    for (const h of this.held) {
      if (h.counter !== counter || h.used >= h.tokens || h.expiresAt <= nowMs) continue;
      if (!best || h.expiresAt < best.expiresAt) best = h;
    }
    return best;
  }

  /** Tokens left in the grants of a counter that `keep` accepts. */
  private tokensIn(counter: string, keep: (h: Held) => boolean): number {
    let n = 0;
    for (const h of this.held) if (h.counter === counter && keep(h)) n += h.tokens - h.used;
    return n;
  }

  /** Per window kind, the counter with the fewest requests left: the one a client will hit first. */
  private policies(counters: string[], nowMs: number): RateLimitPolicy[] {
    const best = new Map<WindowKind, RateLimitPolicy>();
    for (const id of counters) {
      const view = this.views.get(id);
      if (!view) continue;
      const policy: RateLimitPolicy = {
        name: view.kind,
        limit: view.limit,
        remaining: view.remaining + this.tokensIn(id, (h) => h.expiresAt > nowMs),
        resetSeconds: Math.max(0, Math.ceil((view.resetAt - nowMs) / 1000)),
      };
      const current = best.get(view.kind);
      if (!current || policy.remaining < current.remaining) best.set(view.kind, policy);
    }
    return [...best.values()];
  }

  /** Moves expired and empty grants to the report queue: from here on they are never spent from. */
  private close(nowMs: number): void {
    if (!this.held.some((h) => h.expiresAt <= nowMs || h.used >= h.tokens)) return;
    const open: Held[] = [];
    for (const h of this.held) {
      if (h.expiresAt > nowMs && h.used < h.tokens) open.push(h);
      else this.closed.push({ leaseId: h.leaseId, counter: h.counter, used: h.used });
    }
    this.held = open;
  }

  private collect(nowMs: number): void {
    for (const [id, call] of this.inflight)
      if (call.sentAt + INFLIGHT_GIVE_UP_MS <= nowMs) this.inflight.delete(id);
    for (const [id, view] of this.views) if (view.resetAt <= nowMs) this.views.delete(id);
    for (const [id, d] of this.demand) {
      if (d.pending === 0 && demandRate(d, nowMs) === 0) this.demand.delete(id);
    }
  }

  private demandOf(counter: string, nowMs: number): Demand {
    let d = this.demand.get(counter);
    if (!d) {
      d = { bucketStart: nowMs, current: 0, previous: 0, pending: 0 };
      this.demand.set(counter, d);
    }
    return d;
  }

  private countDemand(counters: string[], nowMs: number): void {
    for (const id of counters) {
      const d = this.demandOf(id, nowMs);
      demandRate(d, nowMs);
      d.current += 1;
    }
  }
}
