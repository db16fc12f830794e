import { describe, expect, it } from 'vitest';
import {
  type CounterSpec,
  countersFor,
  emptyUsage,
  GateLedger,
  type LeaseRequest,
  LeaseWallet,
  mergeUsage,
} from '../../../src/core/limits/lease';

const T0 = Date.parse('2024-03-05T10:20:30Z');
const minute = (limit: number, id = 'tenant:minute'): CounterSpec => ({ id, kind: 'minute', limit });
const day = (limit: number, id = 'tenant:day'): CounterSpec => ({ id, kind: 'day', limit });

function gateWith(specs: CounterSpec[], version = 1): GateLedger {
  const gate = new GateLedger();
  gate.setLimits(specs, version);
  return gate;
}

/** One round trip with no delay and no skew. */
function refresh(wallet: LeaseWallet, gate: GateLedger, now: number): LeaseRequest {
  const req = wallet.buildRequest(now);
  expect(wallet.accept(gate.lease(req, now), now)).toBe(true);
  return req;
}

function request(over: Partial<LeaseRequest> = {}): LeaseRequest {
  return { isolateId: 'a', seq: 1, counters: [], reports: [], usage: null, ...over };
}

describe('countersFor', () => {
  it('lists tenant then key counters, skipping null limits', () => {
    expect(
      countersFor({ requests_per_minute: 100, requests_per_day: null }, 'key_1', {
        requests_per_minute: 10,
        requests_per_day: 500,
      }),
    ).toEqual([
      { id: 'tenant:minute', kind: 'minute', limit: 100 },
      { id: 'key:key_1:minute', kind: 'minute', limit: 10 },
      { id: 'key:key_1:day', kind: 'day', limit: 500 },
    ]);
  });

  it('has nothing for an unlimited tenant without key limits', () => {
    expect(countersFor(null, null, null)).toEqual([]);
    expect(countersFor({ requests_per_minute: null, requests_per_day: null }, 'key_1', null)).toEqual([]);
  });

  it('ignores key limits when there is no key', () => {
    expect(countersFor(null, null, { requests_per_minute: 1, requests_per_day: 1 })).toEqual([]);
  });
});

describe('GateLedger', () => {
  it('gives a version-only lease to a tenant without limits', () => {
    const gate = gateWith([], 7);
    const resp = gate.lease(request(), T0);
    expect(resp).toEqual({ leaseId: 'a:1', version: 7, ttlMs: 1000, grants: [], unlimited: [] });
  });

  it('states the window, caps the TTL at the window end and never grants beyond the limit', () => {
    const gate = gateWith([minute(5)]);
    const now = Date.parse('2024-03-05T10:20:59.700Z');
    const resp = gate.lease(request({ counters: [{ id: 'tenant:minute', demandPerSecond: 1000 }] }), now);
    const g = resp.grants[0]!;
    expect(g.windowStart).toBe(Date.parse('2024-03-05T10:20:00Z'));
    expect(g.windowEnd).toBe(Date.parse('2024-03-05T10:21:00Z'));
    expect(g.ttlMs).toBe(300);
    expect(g.resetMs).toBe(300);
    // remaining / (2 × one holder)
    expect(g.tokens).toBe(2);
    expect(g.remaining).toBe(3);
  });

  it('sizes grants from demand over the lease duration', () => {
    const gate = gateWith([minute(10_000)]);
    const grant = (seq: number, demandPerSecond: number) =>
      gate.lease(request({ seq, counters: [{ id: 'tenant:minute', demandPerSecond }] }), T0).grants[0]!
        .tokens;
    expect(grant(1, 0)).toBe(1);
    expect(grant(2, 0.2)).toBe(1);
    expect(grant(3, 40)).toBe(40);
  });

  it('shrinks grants as more isolates hold leases, down to 1 while anything is left', () => {
    const gate = gateWith([minute(40)]);
    const ask = (isolateId: string) =>
      gate.lease(request({ isolateId, counters: [{ id: 'tenant:minute', demandPerSecond: 1000 }] }), T0)
        .grants[0]!;
    expect(ask('a').tokens).toBe(20); // 40 / (2 × 1)
    expect(ask('b').tokens).toBe(5); // 20 / (2 × 2)
    expect(ask('c').tokens).toBe(2); // 15 / (2 × 3)
    const tail = [ask('d'), ask('e'), ask('f')].map((g) => g.tokens);
    expect(tail.every((n) => n >= 1)).toBe(true);
    let left = 40 - 20 - 5 - 2 - tail.reduce((a, b) => a + b, 0);
    while (left > 0) {
      const g = ask('g');
      expect(g.tokens).toBeGreaterThanOrEqual(1);
      left -= g.tokens;
      expect(g.remaining).toBe(left);
    }
    const none = ask('h');
    expect(none.tokens).toBe(0);
    expect(none.remaining).toBe(0);
  });

  it('refunds unused tokens of a reported grant in the same window, once', () => {
    const gate = gateWith([minute(10)]);
    const counters = [{ id: 'tenant:minute', demandPerSecond: 100 }];
    expect(gate.lease(request({ seq: 1, counters }), T0).grants[0]!.tokens).toBe(5);
    const reports = [{ leaseId: 'a:1', counter: 'tenant:minute', used: 2 }];
    const after = gate.lease(request({ seq: 2, reports }), T0 + 1500);
    expect(after.grants).toEqual([]);
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(2);
    gate.lease(request({ seq: 3, reports }), T0 + 1600);
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(2);
    expect(gate.snapshot().leases).toEqual({});
  });

  it('does not refund into a later window, and forgets grants of ended windows', () => {
    const gate = gateWith([minute(10)]);
    gate.lease(request({ counters: [{ id: 'tenant:minute', demandPerSecond: 100 }] }), T0);
    const next = T0 + 60_000;
    const resp = gate.lease(
      request({
        seq: 2,
        counters: [{ id: 'tenant:minute', demandPerSecond: 100 }],
        reports: [{ leaseId: 'a:1', counter: 'tenant:minute', used: 0 }],
      }),
      next,
    );
    expect(resp.grants[0]!.tokens).toBe(5);
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(5);
    expect(Object.keys(gate.snapshot().leases)).toEqual(['a:2']);
  });

  it("ignores another isolate's report", () => {
    const gate = gateWith([minute(10)]);
    gate.lease(request({ counters: [{ id: 'tenant:minute', demandPerSecond: 100 }] }), T0);
    gate.lease(
      request({ isolateId: 'b', reports: [{ leaseId: 'a:1', counter: 'tenant:minute', used: 0 }] }),
      T0,
    );
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(5);
  });

  it('keeps what was granted when the limit drops, and grants nothing below it', () => {
    const gate = gateWith([minute(10)]);
    const counters = [{ id: 'tenant:minute', demandPerSecond: 100 }];
    gate.lease(request({ seq: 1, counters }), T0);
    gate.setLimits([minute(3)], 2);
    const low = gate.lease(request({ seq: 2, counters }), T0 + 10);
    expect(low).toMatchObject({ version: 2, grants: [{ tokens: 0, remaining: 0, limit: 3 }] });
    gate.setLimits([minute(20)], 3);
    const high = gate.lease(request({ seq: 3, counters }), T0 + 20);
    expect(high.grants[0]).toMatchObject({ tokens: 7, remaining: 8, limit: 20 });
  });

  it('ignores limits older than the current version', () => {
    const gate = gateWith([minute(10)], 5);
    expect(gate.setLimits([minute(1)], 4)).toBe(false);
    expect(gate.version).toBe(5);
    expect(gate.setLimits([minute(1)], 5)).toBe(true);
  });

  it('answers counters it does not limit as unlimited', () => {
    const gate = gateWith([minute(10)]);
    const resp = gate.lease(request({ counters: [{ id: 'key:k:minute', demandPerSecond: 1 }] }), T0);
    expect(resp.grants).toEqual([]);
    expect(resp.unlimited).toEqual(['key:k:minute']);
  });

  it('merges usage once per batch even when a batch is sent again', () => {
    const gate = gateWith([]);
    const days = { '2024-03-05': { ...emptyUsage(), requests: 3, allowed: 2, rate_limited: 1 } };
    gate.lease(request({ seq: 1, usage: { seq: 1, days } }), T0);
    gate.lease(request({ seq: 2, usage: { seq: 1, days } }), T0);
    gate.lease(request({ isolateId: 'b', usage: { seq: 1, days } }), T0);
    expect(gate.drainUsage()['2024-03-05']).toMatchObject({ requests: 6, allowed: 4, rate_limited: 2 });
    expect(gate.drainUsage()).toEqual({});
    gate.addUsage(days);
    expect(gate.drainUsage()).toEqual(days);
  });

  it('round-trips its state through JSON', () => {
    const gate = gateWith([minute(10), day(100)], 3);
    gate.lease(request({ counters: [{ id: 'tenant:minute', demandPerSecond: 100 }] }), T0);
    const restored = new GateLedger(JSON.parse(JSON.stringify(gate.snapshot())));
    expect(restored.snapshot()).toEqual(gate.snapshot());
    const resp = restored.lease(
      request({ seq: 2, counters: [{ id: 'tenant:minute', demandPerSecond: 100 }] }),
      T0 + 10,
    );
    expect(resp.grants[0]).toMatchObject({ tokens: 2, remaining: 3 });
  });

  it('counts a request applied twice against one record, refunded by one report', () => {
    const gate = gateWith([minute(100)]);
    const req = request({ counters: [{ id: 'tenant:minute', demandPerSecond: 4 }] });
    gate.lease(req, T0);
    gate.lease(req, T0 + 5);
    expect(gate.snapshot().leases['a:1']!.grants['tenant:minute']!.tokens).toBe(8);
    gate.lease(
      request({ seq: 2, reports: [{ leaseId: 'a:1', counter: 'tenant:minute', used: 3 }] }),
      T0 + 10,
    );
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(3);
  });
});

describe('LeaseWallet', () => {
  it('admits nothing before its first lease, and nothing once the version lease lapses', () => {
    const gate = gateWith([], 4);
    const wallet = new LeaseWallet('a');
    expect(wallet.take([], T0)).toEqual({ ok: false, reason: 'need_lease' });
    expect(wallet.needsRefresh(T0)).toBe(true);
    refresh(wallet, gate, T0);
    expect(wallet.version).toBe(4);
    expect(wallet.needsRefresh(T0 + 700)).toBe(false);
    expect(wallet.needsRefresh(T0 + 800)).toBe(true);
    expect(wallet.take([], T0 + 999)).toEqual({ ok: true, policies: [] });
    expect(wallet.take([], T0 + 1000)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('computes expiry from its own send time, whatever the gate clock says', () => {
    const gate = gateWith([minute(100)]);
    const wallet = new LeaseWallet('a');
    wallet.take(['tenant:minute'], 5_000);
    const req = wallet.buildRequest(5_000); // isolate clock, far from the gate's
    expect(wallet.accept(gate.lease(req, T0), 5_400)).toBe(true);
    expect(wallet.take(['tenant:minute'], 5_999).ok).toBe(true);
    expect(wallet.take(['tenant:minute'], 6_000)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('accepts each answer once and ignores unknown ones', () => {
    const gate = gateWith([minute(100)]);
    const wallet = new LeaseWallet('a');
    wallet.take(['tenant:minute'], T0);
    const resp = gate.lease(wallet.buildRequest(T0), T0);
    expect(wallet.accept(resp, T0)).toBe(true);
    expect(wallet.accept(resp, T0)).toBe(false);
    expect(wallet.accept({ ...resp, leaseId: 'x:1' }, T0)).toBe(false);
    expect(wallet.take(['tenant:minute'], T0).ok).toBe(true);
    expect(wallet.take(['tenant:minute'], T0)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('asks again when it ran out but the gate has more', () => {
    const gate = gateWith([minute(100)]);
    const wallet = new LeaseWallet('a');
    expect(wallet.take(['tenant:minute'], T0).ok).toBe(false);
    refresh(wallet, gate, T0);
    expect(wallet.take(['tenant:minute'], T0)).toMatchObject({
      ok: true,
      policies: [{ name: 'minute', limit: 100, remaining: 99, resetSeconds: 30 }],
    });
    expect(wallet.take(['tenant:minute'], T0)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('answers 429 without asking when the gate had nothing left', () => {
    const gate = gateWith([minute(1)]);
    const wallet = new LeaseWallet('a');
    wallet.take(['tenant:minute'], T0);
    refresh(wallet, gate, T0);
    expect(wallet.take(['tenant:minute'], T0).ok).toBe(true);
    expect(wallet.take(['tenant:minute'], T0 + 100)).toEqual({
      ok: false,
      reason: 'rate_limited',
      counter: 'tenant:minute',
      retryAfter: 30,
      policies: [{ name: 'minute', limit: 1, remaining: 0, resetSeconds: 30 }],
    });
    // The 429 lasts only as long as the lease: then the gate is asked again.
    expect(wallet.take(['tenant:minute'], T0 + 1000)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('names the day quota when both windows are exhausted', () => {
    const gate = gateWith([minute(1), day(1)]);
    const wallet = new LeaseWallet('a');
    const ids = ['tenant:minute', 'tenant:day'];
    wallet.take(ids, T0);
    refresh(wallet, gate, T0);
    expect(wallet.take(ids, T0).ok).toBe(true);
    expect(wallet.take(ids, T0)).toMatchObject({
      ok: false,
      reason: 'quota_exceeded',
      counter: 'tenant:day',
      retryAfter: Math.ceil((Date.parse('2024-03-06T00:00:00Z') - T0) / 1000),
    });
  });

  it('spends nothing from any counter when one counter refuses', () => {
    const gate = gateWith([minute(100), minute(1, 'key:k:minute')]);
    const wallet = new LeaseWallet('a');
    const both = ['tenant:minute', 'key:k:minute'];
    for (let i = 0; i < 20; i++) wallet.take(both, T0);
    refresh(wallet, gate, T0);
    expect(wallet.take(both, T0).ok).toBe(true);
    for (let i = 0; i < 5; i++)
      expect(wallet.take(both, T0)).toMatchObject({ ok: false, reason: 'rate_limited' });
    // Requests without the key still have the tenant tokens the rejected ones did not touch.
    let admitted = 0;
    while (wallet.take(['tenant:minute'], T0).ok) admitted += 1;
    const granted = gate.snapshot().leases['a:1']!.grants['tenant:minute']!.tokens;
    expect(admitted).toBe(granted - 1);
    const req = wallet.buildRequest(T0 + 1000);
    expect(req.reports).toEqual(
      expect.arrayContaining([
        { leaseId: 'a:1', counter: 'tenant:minute', used: granted },
        { leaseId: 'a:1', counter: 'key:k:minute', used: 1 },
      ]),
    );
  });

  it('reports lapsed tokens on its next call and keeps reporting until answered', () => {
    const gate = gateWith([minute(10)]);
    const wallet = new LeaseWallet('a');
    for (let i = 0; i < 4; i++) wallet.take(['tenant:minute'], T0);
    refresh(wallet, gate, T0);
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(4);
    wallet.take(['tenant:minute'], T0);
    const lost = wallet.buildRequest(T0 + 2000);
    expect(lost.reports).toEqual([{ leaseId: 'a:1', counter: 'tenant:minute', used: 1 }]);
    const again = refresh(wallet, gate, T0 + 2100);
    expect(again.reports).toEqual(lost.reports);
    expect(gate.snapshot().counters['tenant:minute']!.used).toBe(1);
    expect(wallet.buildRequest(T0 + 2200).reports).toEqual([]);
  });

  it('treats counters the gate does not limit as free until the lease expires', () => {
    const gate = gateWith([]);
    const wallet = new LeaseWallet('a');
    wallet.take(['key:k:minute'], T0);
    const req = refresh(wallet, gate, T0);
    expect(req.counters).toEqual([{ id: 'key:k:minute', demandPerSecond: 1 }]);
    expect(wallet.take(['key:k:minute'], T0 + 500)).toEqual({ ok: true, policies: [] });
    expect(wallet.take(['key:k:minute'], T0 + 1000).ok).toBe(false);
  });

  it('asks for about a second of its observed demand and not for counters it holds enough of', () => {
    const gate = gateWith([minute(100_000), minute(100_000, 'key:k:minute')]);
    const wallet = new LeaseWallet('a');
    for (let i = 0; i < 50; i++) wallet.take(['tenant:minute'], T0 + i * 10);
    refresh(wallet, gate, T0 + 500);
    const held = gate.snapshot().leases['a:1']!.grants['tenant:minute']!.tokens;
    expect(held).toBe(50);
    wallet.take(['key:k:minute'], T0 + 510);
    const req = wallet.buildRequest(T0 + 510);
    expect(req.counters.map((c) => c.id)).toEqual(['key:k:minute']);
  });

  it('takes the highest version seen and ships usage once, by UTC date', () => {
    const gate = gateWith([], 1);
    const wallet = new LeaseWallet('a');
    const midnight = Date.parse('2024-03-06T00:00:00Z');
    wallet.recordUsage(midnight - 1, { requests: 1, allowed: 1, status_2xx: 1, bytes_out: 10 });
    wallet.recordUsage(midnight, { requests: 1, rate_limited: 1 });
    const first = wallet.buildRequest(midnight);
    gate.setLimits([], 2);
    const second = wallet.buildRequest(midnight + 1);
    expect(second.usage).toEqual(first.usage); // unanswered: sent again
    wallet.accept(gate.lease(second, midnight + 2), midnight + 3);
    wallet.accept(gate.lease(first, midnight + 4), midnight + 5);
    expect(wallet.version).toBe(2);
    expect(gate.drainUsage()).toEqual({
      '2024-03-05': { ...emptyUsage(), requests: 1, allowed: 1, status_2xx: 1, bytes_out: 10 },
      '2024-03-06': { ...emptyUsage(), requests: 1, rate_limited: 1 },
    });
    expect(wallet.buildRequest(midnight + 6).usage).toBeNull();
  });
});

describe('usage', () => {
  it('merges by date and field without touching its inputs', () => {
    const a = { '2024-03-05': { ...emptyUsage(), requests: 1 } };
    const b = { '2024-03-05': { ...emptyUsage(), requests: 2, bytes_in: 5 }, '2024-03-06': emptyUsage() };
    expect(mergeUsage(a, b)).toEqual({
      '2024-03-05': { ...emptyUsage(), requests: 3, bytes_in: 5 },
      '2024-03-06': emptyUsage(),
    });
    expect(a['2024-03-05'].requests).toBe(1);
  });
});
