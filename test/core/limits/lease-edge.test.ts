// The isolate's side of the leases (src/core/limits/lease-wallet), as src/edge/limit.ts drives it: take,
// refreshAt, buildRequest, accept, dropGrants.
import { describe, expect, it } from 'vitest';
import { GateLedger } from '../../../src/core/limits/gate-ledger';
import type { CounterSpec } from '../../../src/core/limits/lease';
import { LeaseWallet } from '../../../src/core/limits/lease-wallet';

const at = (hms: string) => Date.parse(`2024-03-05T10:${hms}Z`);
const T0 = at('20:30');
const MIN = 'tenant:minute';
const minute = (limit: number, id = MIN): CounterSpec => ({ id, kind: 'minute', limit });
const day = (limit: number, id = 'tenant:day'): CounterSpec => ({ id, kind: 'day', limit });

/** One round trip; `isoNow` is the isolate's clock, `gateNow` the gate's. */
function refresh(w: LeaseWallet, gate: GateLedger, specs: CounterSpec[], isoNow: number, gateNow = isoNow) {
  const req = w.buildRequest(specs, 1, isoNow);
  expect(w.accept(gate.lease(req, gateNow), isoNow)).toBe(true);
  return req;
}

/** What src/edge/limit.ts acts on at once: a call due now. */
const callsNow = (w: LeaseWallet, ids: string[], nowMs: number) => {
  const due = w.refreshAt(ids, nowMs);
  return due !== null && due <= nowMs;
};

const granted = (gate: GateLedger, leaseId: string, id = MIN) =>
  gate.snapshot().leases[leaseId]?.grants[id]?.tokens ?? 0;
const used = (gate: GateLedger, id = MIN) => gate.snapshot().counters[id]?.used;

describe('LeaseWallet.take', () => {
  it('admits nothing before its first lease, then spends what the gate granted', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    expect(w.take([MIN], T0)).toEqual({ ok: false, reason: 'need_lease' });
    refresh(w, gate, [minute(100)], T0);
    expect(granted(gate, 'a:1')).toBe(25);
    expect(w.take([MIN], T0)).toEqual({
      ok: true,
      policies: [{ name: 'minute', limit: 100, remaining: 99, resetSeconds: 30 }],
    });
    for (let i = 1; i < 25; i++) expect(w.take([MIN], T0 + i).ok).toBe(true);
    expect(w.take([MIN], T0 + 30)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('computes expiry from its own send time, whatever the gate clock says', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    // Isolate clock far behind the gate's; the gate is 20 s into its minute: a 30 s lease.
    const req = w.buildRequest([minute(1000)], 1, 5_000);
    expect(w.accept(gate.lease(req, at('20:20')), 5_400)).toBe(true);
    expect(w.take([MIN], 34_999).ok).toBe(true);
    expect(w.take([MIN], 35_000)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('accepts each answer once and ignores unknown ones', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    const resp = gate.lease(w.buildRequest([minute(4)], 1, T0), T0);
    expect(resp.grants[0]!.tokens).toBe(1);
    expect(w.accept(resp, T0)).toBe(true);
    expect(w.accept(resp, T0)).toBe(false);
    expect(w.accept({ ...resp, leaseId: 'x:1' }, T0)).toBe(false);
    expect(w.take([MIN], T0).ok).toBe(true);
    expect(w.take([MIN], T0)).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('answers 429 without asking while the gate said none are left, with Retry-After to the window end', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(1)], at('20:20'));
    expect(w.take([MIN], at('20:20')).ok).toBe(true);
    expect(w.take([MIN], at('20:20.100'))).toEqual({
      ok: false,
      reason: 'rate_limited',
      counter: MIN,
      retryAfter: 40,
      policies: [{ name: 'minute', limit: 1, remaining: 0, resetSeconds: 40 }],
    });
    // The 429 holds as long as that answer's lease (30 s); then the gate is asked again.
    expect(w.take([MIN], at('20:49.999'))).toMatchObject({ reason: 'rate_limited', retryAfter: 11 });
    expect(w.take([MIN], at('20:50'))).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('names the day quota when both windows are exhausted', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    const ids = [MIN, 'tenant:day'];
    refresh(w, gate, [minute(1), day(1)], T0);
    expect(w.take(ids, T0).ok).toBe(true);
    expect(w.take(ids, T0)).toMatchObject({
      ok: false,
      reason: 'quota_exceeded',
      counter: 'tenant:day',
      retryAfter: Math.ceil((Date.parse('2024-03-06T00:00:00Z') - T0) / 1000),
    });
  });

  it('spends nothing from any counter when one counter refuses', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    const both = [MIN, 'key:k:minute'];
    refresh(w, gate, [minute(100), minute(1, 'key:k:minute')], T0);
    expect(w.take(both, T0).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect(w.take(both, T0)).toMatchObject({ ok: false, reason: 'rate_limited' });
    // Requests without the key still have every tenant token the rejected ones did not touch.
    let admitted = 0;
    while (w.take([MIN], T0).ok) admitted += 1;
    expect(admitted).toBe(granted(gate, 'a:1') - 1);
    expect(w.buildRequest([], 1, T0 + 1).reports).toEqual(
      expect.arrayContaining([
        { leaseId: 'a:1', counter: MIN, used: granted(gate, 'a:1') },
        { leaseId: 'a:1', counter: 'key:k:minute', used: 1 },
      ]),
    );
  });

  it('shows, per window kind, the counter nearest to exhaustion', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    const specs = [minute(100), minute(10, 'key:k:minute'), day(1000)];
    refresh(w, gate, specs, T0);
    const r = w.take([MIN, 'key:k:minute', 'tenant:day'], T0);
    expect(r.ok && r.policies).toEqual([
      { name: 'minute', limit: 10, remaining: 9, resetSeconds: 30 },
      {
        name: 'day',
        limit: 1000,
        remaining: 999,
        resetSeconds: (Date.parse('2024-03-06T00:00:00Z') - T0) / 1000,
      },
    ]);
  });
});

describe('LeaseWallet requests', () => {
  it('asks for its observed demand, waiting requests included', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    for (let i = 0; i < 50; i++) w.take([MIN], T0 + i * 10);
    const req = w.buildRequest([minute(100_000)], 1, T0 + 500);
    expect(req.counters).toEqual([{ ...minute(100_000), demandPerSecond: 50 }]);
    expect(w.accept(gate.lease(req, T0 + 500), T0 + 500)).toBe(true);
    expect(granted(gate, 'a:1')).toBe(1575); // 50/s over the 29.5 s left of the minute, and 2 s more
    // Spent at 20/s for two seconds: the next request says about 20/s.
    for (let i = 0; i < 40; i++) expect(w.take([MIN], T0 + 1000 + i * 50).ok).toBe(true);
    const next = w.buildRequest([minute(100_000)], 1, T0 + 3000);
    expect(next.counters[0]!.demandPerSecond).toBeGreaterThanOrEqual(15);
    expect(next.counters[0]!.demandPerSecond).toBeLessThanOrEqual(25);
  });

  it('reports lapsed tokens on its next call, and keeps reporting until a call is answered', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(8)], at('20:20')); // 2 tokens for 30 s
    expect(used(gate)).toBe(2);
    expect(w.take([MIN], at('20:21')).ok).toBe(true);
    expect(w.owesReports).toBe(true);
    const lost = w.buildRequest([], 1, at('20:51'));
    expect(lost.reports).toEqual([{ leaseId: 'a:1', counter: MIN, used: 1 }]);
    const again = refresh(w, gate, [], at('20:52'));
    expect(again.reports).toEqual(lost.reports);
    expect(used(gate)).toBe(1);
    expect(w.owesReports).toBe(false);
    expect(w.buildRequest([], 1, at('20:53')).reports).toEqual([]);
  });
});

describe('LeaseWallet.refreshAt', () => {
  it('holds a call that would lapse inside the window until one lasts to its end, while what is held serves', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    // Sent at 20:00.5, at the gate 20 ms later, answered 40 ms later: the lease lapses at 20:30.5. The end is
    // taken as 21:00.020 (the gate's 59.48 s left, from the answer); a call sent before 20:29.980 reaches the
    // gate more than 30 s before that, and would lapse inside the window and need another.
    const req = w.buildRequest([minute(100_000)], 1, at('20:00.500'));
    expect(w.accept(gate.lease(req, at('20:00.520')), at('20:00.540'))).toBe(true);
    expect(w.take([MIN], at('20:29.600')).ok).toBe(true);
    expect(w.refreshAt([MIN], at('20:29.600'))).toBe(at('20:29.980'));
    expect(callsNow(w, [MIN], at('20:29.600'))).toBe(false);
    // From then on, now.
    expect(w.refreshAt([MIN], at('20:30.100'))).toBe(at('20:30.100'));
  });

  it('asks now when what is held lapses before such a call could be made', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(100_000)], at('20:05')); // to 20:35; a lasting call from 20:30 only
    expect(w.take([MIN], at('20:34.500')).ok).toBe(true);
    expect(w.refreshAt([MIN], at('20:34.500'))).toBe(at('20:34.500'));
  });

  it("names the window's end in its last second for a busy tenant, nothing for a quiet one", () => {
    const gate = new GateLedger();
    const busy = new LeaseWallet('a');
    refresh(busy, gate, [minute(100_000)], at('20:45')); // to 21:00, the window's end
    for (const t of ['20:58.300', '20:58.900', '20:59.500']) expect(busy.take([MIN], at(t)).ok).toBe(true);
    expect(busy.refreshAt([MIN], at('20:59.500'))).toBe(at('21:00'));
    const quiet = new LeaseWallet('b');
    refresh(quiet, gate, [minute(100_000)], at('20:45'));
    expect(quiet.take([MIN], at('20:59.500')).ok).toBe(true);
    expect(quiet.refreshAt([MIN], at('20:59.500'))).toBeNull();
  });
});

describe('LeaseWallet.refreshAt, a call due now', () => {
  it('is true with nothing held, false with plenty', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    expect(callsNow(w, [MIN], T0)).toBe(true);
    refresh(w, gate, [minute(1000)], T0);
    expect(callsNow(w, [MIN], T0)).toBe(false);
  });

  it('starts ahead of running out at the current demand', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(40)], T0); // 10 tokens
    for (let i = 0; i < 4; i++) w.take([MIN], T0 + i * 100);
    expect(callsNow(w, [MIN], T0 + 400)).toBe(false); // 6 left, about 4/s
    for (let i = 4; i < 8; i++) w.take([MIN], T0 + i * 100);
    expect(callsNow(w, [MIN], T0 + 800)).toBe(true); // 2 left, about 8/s
  });

  it('starts ahead of a lease lapsing inside its window, not ahead of one lapsing with it', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(1000)], at('20:10')); // to 20:40, the window goes on
    expect(callsNow(w, [MIN], at('20:38.999'))).toBe(false);
    expect(callsNow(w, [MIN], at('20:39.001'))).toBe(true);
    const late = new LeaseWallet('b');
    refresh(late, gate, [minute(1000)], at('20:45')); // to 21:00, the window's end
    expect(callsNow(late, [MIN], at('20:59.500'))).toBe(false);
    expect(late.take([MIN], at('20:59.900')).ok).toBe(true);
    expect(callsNow(late, [MIN], at('21:00'))).toBe(true);
  });

  it('is false in the last second of the window: a call then would buy tokens for less than that', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(1000)], at('20:58')); // 2 s to the window end: 3 tokens at 1/s (2.2 s)
    for (const t of ['20:58', '20:58.050', '20:58.100']) expect(w.take([MIN], at(t)).ok).toBe(true);
    expect(callsNow(w, [MIN], at('20:58.200'))).toBe(true);
    expect(callsNow(w, [MIN], at('20:59.001'))).toBe(false);
    expect(w.take([MIN], at('20:59.500'))).toEqual({ ok: false, reason: 'need_lease' });
  });

  it('is false while the gate said none are left', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(1)], T0);
    w.take([MIN], T0);
    expect(callsNow(w, [MIN], T0 + 10)).toBe(false);
  });
});

describe('LeaseWallet.dropGrants (a limit changed)', () => {
  it('spends nothing granted before, reports it on the next call and the gate refunds it', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    refresh(w, gate, [minute(100)], T0); // 25 tokens
    expect(w.take([MIN], T0).ok).toBe(true);
    w.dropGrants();
    expect(w.owesReports).toBe(true);
    expect(w.take([MIN], T0 + 1)).toEqual({ ok: false, reason: 'need_lease' });
    const req = w.buildRequest([minute(10)], 2, T0 + 2);
    expect(req.reports).toEqual([{ leaseId: 'a:1', counter: MIN, used: 1 }]);
    expect(w.accept(gate.lease(req, T0 + 2), T0 + 2)).toBe(true);
    // 1 spent, 24 back; the new grant is a quarter of what the new limit leaves.
    expect(gate.snapshot().specs[MIN]).toMatchObject({ limit: 10, version: 2 });
    expect(granted(gate, 'a:2')).toBe(2);
    expect(used(gate)).toBe(3);
  });

  it('does not spend the answer of a call sent before the change, and has it refunded', () => {
    const gate = new GateLedger();
    const w = new LeaseWallet('a');
    for (let i = 0; i < 50; i++) w.take([MIN], T0);
    const inflight = w.buildRequest([minute(1000)], 1, T0);
    w.dropGrants();
    expect(w.accept(gate.lease(inflight, T0 + 5), T0 + 10)).toBe(true);
    expect(granted(gate, 'a:1')).toBe(250);
    expect(w.take([MIN], T0 + 20)).toEqual({ ok: false, reason: 'need_lease' });
    const next = w.buildRequest([minute(10)], 2, T0 + 30);
    expect(next.reports).toEqual([{ leaseId: 'a:1', counter: MIN, used: 0 }]);
    gate.lease(next, T0 + 30);
    expect(used(gate)).toBe(granted(gate, 'a:2'));
    expect(granted(gate, 'a:2')).toBeLessThanOrEqual(10);
  });
});
