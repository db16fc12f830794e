// The gate's side of the leases (src/core/limits/gate-ledger): windows, TTLs, the quarter rule, demand
// sizing, refunds, limits that travel with requests, and the state an earlier release stored.
import { describe, expect, it } from 'vitest';
import { GateLedger, type GateState } from '../../../src/core/limits/gate-ledger';
import { type CounterSpec, countersFor, type LeaseRequest } from '../../../src/core/limits/lease';
import { emptyUsage } from '../../../src/core/usage/usage-counts';

const T0 = Date.parse('2024-03-05T10:20:30Z');
const MIN = 'tenant:minute';
const minute = (limit: number, id = MIN): CounterSpec => ({ id, kind: 'minute', limit });
const day = (limit: number, id = 'tenant:day'): CounterSpec => ({ id, kind: 'day', limit });

function ask(specs: CounterSpec[], demandPerSecond: number, over: Partial<LeaseRequest> = {}): LeaseRequest {
  return {
    isolateId: 'a',
    seq: 1,
    version: 1,
    counters: specs.map((s) => ({ ...s, demandPerSecond })),
    reports: [],
    ...over,
  };
}

const used = (gate: GateLedger, id = MIN) => gate.snapshot().counters[id]?.used;

describe('countersFor', () => {
  it('lists tenant then key counters, skipping null limits and cleaning numbers', () => {
    expect(
      countersFor({ requests_per_minute: 100, requests_per_day: null }, 'key_1', {
        requests_per_minute: 10.7,
        requests_per_day: -3,
      }),
    ).toEqual([
      { id: 'tenant:minute', kind: 'minute', limit: 100 },
      { id: 'key:key_1:minute', kind: 'minute', limit: 10 },
      { id: 'key:key_1:day', kind: 'day', limit: 0 },
    ]);
  });

  it('has nothing for an unlimited tenant, and no key counters without a key', () => {
    expect(countersFor(null, null, null)).toEqual([]);
    expect(countersFor({ requests_per_minute: null, requests_per_day: null }, 'key_1', null)).toEqual([]);
    expect(countersFor(null, null, { requests_per_minute: 1, requests_per_day: 1 })).toEqual([]);
  });
});

describe('GateLedger grants', () => {
  it('states the window and makes the TTL min(window end, 30 s)', () => {
    const cases = [
      { at: '10:20:00.000Z', ttl: 30_000, reset: 60_000 },
      { at: '10:20:29.000Z', ttl: 30_000, reset: 31_000 },
      { at: '10:20:45.000Z', ttl: 15_000, reset: 15_000 },
      { at: '10:20:59.700Z', ttl: 300, reset: 300 },
    ];
    for (const c of cases) {
      const now = Date.parse(`2024-03-05T${c.at}`);
      const g = new GateLedger().lease(ask([minute(100)], 10), now).grants[0]!;
      expect(g).toMatchObject({
        windowStart: Date.parse('2024-03-05T10:20:00Z'),
        windowEnd: Date.parse('2024-03-05T10:21:00Z'),
        ttlMs: c.ttl,
        resetMs: c.reset,
      });
    }
    const d = new GateLedger().lease(ask([day(1000)], 1), T0).grants[0]!;
    expect(d).toMatchObject({ ttlMs: 30_000, windowEnd: Date.parse('2024-03-06T00:00:00Z') });
  });

  it('sizes a grant to demand × TTL and a tenth (at most 2 s) more, at least 1', () => {
    const tokens = (demand: number, now = T0) =>
      new GateLedger().lease(ask([minute(100_000)], demand), now).grants[0]!.tokens;
    expect(tokens(0)).toBe(1);
    expect(tokens(Number.NaN)).toBe(1);
    expect(tokens(0.2)).toBe(7); // 0.2/s over 30 s + 2 s
    expect(tokens(3)).toBe(96);
    expect(tokens(10, Date.parse('2024-03-05T10:20:59.700Z'))).toBe(4); // over the 300 ms left + 30 ms
  });

  it('never grants more than a quarter of what is left (minimum 1), and exactly the limit in all', () => {
    const gate = new GateLedger();
    const sizes: number[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      const left = 40 - sizes.reduce((a, b) => a + b, 0);
      const g = gate.lease(ask([minute(40)], 1000, { seq }), T0).grants[0]!;
      expect(g.tokens).toBe(left === 0 ? 0 : Math.max(1, Math.floor(left / 4)));
      expect(g.remaining).toBe(left - g.tokens);
      if (g.tokens === 0) break;
      sizes.push(g.tokens);
    }
    expect(sizes.slice(0, 4)).toEqual([10, 7, 5, 4]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(used(gate)).toBe(40);
  });

  it('grants nothing from a limit of 0, and answers remaining 0', () => {
    const g = new GateLedger().lease(ask([minute(0)], 5), T0).grants[0]!;
    expect(g).toMatchObject({ tokens: 0, remaining: 0, limit: 0 });
  });

  it('answers each counter once even when a request names it twice', () => {
    const resp = new GateLedger().lease(ask([minute(100), minute(100)], 1), T0);
    expect(resp.grants).toHaveLength(1);
  });
});

describe('GateLedger refunds', () => {
  it('refunds the unused tokens of a reported grant in the same window, once', () => {
    const gate = new GateLedger();
    expect(gate.lease(ask([minute(100)], 1), T0).grants[0]!.tokens).toBe(25);
    const reports = [{ leaseId: 'a:1', counter: MIN, used: 2 }];
    gate.lease(ask([], 0, { seq: 2, reports }), T0 + 1500);
    expect(used(gate)).toBe(2);
    gate.lease(ask([], 0, { seq: 3, reports }), T0 + 1600);
    expect(used(gate)).toBe(2);
    expect(gate.snapshot().leases).toEqual({});
  });

  it('does not refund into a later window, and forgets grants of ended windows', () => {
    const gate = new GateLedger();
    gate.lease(ask([minute(100)], 1), T0);
    const next = T0 + 60_000;
    const resp = gate.lease(
      ask([minute(100)], 1, { seq: 2, reports: [{ leaseId: 'a:1', counter: MIN, used: 0 }] }),
      next,
    );
    expect(resp.grants[0]!.tokens).toBe(25);
    expect(used(gate)).toBe(25);
    expect(Object.keys(gate.snapshot().leases)).toEqual(['a:2']);
  });

  it("ignores another isolate's report and an overstated one", () => {
    const gate = new GateLedger();
    gate.lease(ask([minute(100)], 1), T0);
    gate.lease(ask([], 0, { isolateId: 'b', reports: [{ leaseId: 'a:1', counter: MIN, used: 0 }] }), T0);
    expect(used(gate)).toBe(25);
    gate.lease(ask([], 0, { seq: 2, reports: [{ leaseId: 'a:1', counter: MIN, used: 99 }] }), T0);
    expect(used(gate)).toBe(25);
  });

  it('counts a request applied twice against one record, refunded by one report', () => {
    const gate = new GateLedger();
    const req = ask([minute(1000)], 0.1); // 4 tokens each time
    gate.lease(req, T0);
    gate.lease(req, T0 + 5);
    expect(gate.snapshot().leases['a:1']!.grants[MIN]!.tokens).toBe(8);
    gate.lease(ask([], 0, { seq: 2, reports: [{ leaseId: 'a:1', counter: MIN, used: 4 }] }), T0 + 10);
    expect(used(gate)).toBe(4);
  });
});

describe('GateLedger limits travel with requests', () => {
  it('keeps what was granted when the limit drops, and grants nothing below it', () => {
    const gate = new GateLedger();
    gate.lease(ask([minute(40)], 1000), T0); // 10
    const low = gate.lease(ask([minute(3)], 1000, { seq: 2, version: 2 }), T0 + 10);
    expect(low).toMatchObject({ version: 2, grants: [{ tokens: 0, remaining: 0, limit: 3 }] });
    const high = gate.lease(ask([minute(30)], 1000, { seq: 3, version: 3 }), T0 + 20);
    expect(high.grants[0]).toMatchObject({ tokens: 5, remaining: 15, limit: 30 });
  });

  it('answers a request under an older version with the newer limit and version', () => {
    const gate = new GateLedger();
    gate.lease(ask([minute(8)], 1000, { version: 5 }), T0); // 2 of 8
    const stale = gate.lease(ask([minute(1000)], 1000, { isolateId: 'b', version: 4 }), T0 + 1);
    expect(stale).toMatchObject({ version: 5, grants: [{ limit: 8, tokens: 1, remaining: 5 }] });
    // Per counter: a key counter first named under version 4 takes that limit.
    const key = gate.lease(ask([minute(6, 'key:k:minute')], 1000, { isolateId: 'c', version: 4 }), T0);
    expect(key).toMatchObject({ version: 4, grants: [{ limit: 6 }] });
    expect(gate.snapshot().specs[MIN]).toEqual({ kind: 'minute', limit: 8, version: 5 });
  });

  it('round-trips its state through JSON', () => {
    const gate = new GateLedger();
    gate.lease(ask([minute(100), day(1000)], 1, { version: 3 }), T0);
    const restored = new GateLedger(JSON.parse(JSON.stringify(gate.snapshot())));
    expect(restored.snapshot()).toEqual(gate.snapshot());
    const resp = restored.lease(ask([minute(100)], 1000, { seq: 2, version: 3 }), T0 + 10);
    expect(resp.grants[0]).toMatchObject({ tokens: 18, remaining: 57 });
  });
});

describe('GateLedger after an earlier release', () => {
  const day0 = '2024-03-05';
  const stored = () =>
    ({
      version: 7,
      specs: { [MIN]: { kind: 'minute', limit: 10 } },
      counters: { [MIN]: { kind: 'minute', windowStart: Date.parse('2024-03-05T10:20:00Z'), used: 6 } },
      leases: {
        'old:4': {
          isolateId: 'old',
          grants: {
            [MIN]: {
              windowStart: Date.parse('2024-03-05T10:20:00Z'),
              windowEnd: T0 + 30_000,
              expiresAt: T0,
              tokens: 6,
            },
          },
        },
      },
      usage: { [day0]: { ...emptyUsage(), requests: 5, allowed: 4, rate_limited: 1 } },
      usageSeq: { old: { seq: 3, atMs: T0 } },
    }) as unknown as GateState;

  it('loads its state, drains its usage and lets a current request set the limit', () => {
    const gate = new GateLedger(stored());
    expect(gate.drainUsage()).toEqual({ [day0]: expect.objectContaining({ requests: 5, rate_limited: 1 }) });
    expect(gate.drainUsage()).toEqual({});
    // The stored spec has no version: any current request's limit replaces it; the count stays.
    const resp = gate.lease(ask([minute(12)], 1000, { version: 1 }), T0 + 1);
    expect(resp.grants[0]).toMatchObject({ limit: 12, tokens: 1, remaining: 5 });
    // The old grant is still refundable.
    gate.lease(
      ask([], 0, { isolateId: 'old', seq: 5, reports: [{ leaseId: 'old:4', counter: MIN, used: 2 }] }),
      T0 + 2,
    );
    expect(used(gate)).toBe(3);
  });

  it('serves an old isolate from the limits it holds, without resetting any count', () => {
    const gate = new GateLedger(stored());
    const old = {
      isolateId: 'old',
      seq: 5,
      counters: [{ id: MIN, demandPerSecond: 100 }],
      reports: [],
      usage: { seq: 4, days: { [day0]: { ...emptyUsage(), requests: 2, allowed: 2 } } },
    } as unknown as LeaseRequest;
    const resp = gate.lease(old, T0 + 1);
    expect(resp.grants[0]).toMatchObject({ limit: 10, tokens: 1, remaining: 3 });
    expect(gate.snapshot().specs[MIN]).toEqual({ kind: 'minute', limit: 10 });
    expect(used(gate)).toBe(7);
    // Its usage merges once per batch, added to what was stored.
    gate.lease({ ...old, seq: 6 }, T0 + 2);
    expect(gate.drainUsage()[day0]).toMatchObject({ requests: 7, allowed: 6 });
    // A counter the gate holds no limit for is not answered at all.
    const unknown = gate.lease(
      { ...old, seq: 7, counters: [{ id: 'key:k:day', demandPerSecond: 1 }] } as never,
      T0,
    );
    expect(unknown.grants).toEqual([]);
    expect(gate.snapshot().counters['key:k:day']).toBeUndefined();
  });

  it('adds usage back after a failed flush', () => {
    const gate = new GateLedger(stored());
    const days = gate.drainUsage();
    gate.addUsage(days);
    gate.addUsage(days);
    expect(gate.drainUsage()[day0]).toMatchObject({ requests: 10 });
  });
});
