// What the edge (src/edge/limit.ts) relies on beyond lease.test.ts: usage that still needs a lease call,
// and grants of an older snapshot that are not spent once a newer one is known.
import { describe, expect, it } from 'vitest';
import { GateLedger, LeaseWallet } from '../../../src/core/limits/lease';

const T0 = Date.parse('2024-03-05T10:20:30Z');
const minute = (limit: number) => ({ id: 'tenant:minute', kind: 'minute' as const, limit });

function roundTrip(wallet: LeaseWallet, gate: GateLedger, now: number) {
  wallet.accept(gate.lease(wallet.buildRequest(now), now), now);
}

describe('LeaseWallet.hasUnsentUsage', () => {
  it('is true from a recorded request until the gate acknowledges the batch', () => {
    const gate = new GateLedger();
    gate.setLimits([], 1);
    const wallet = new LeaseWallet('a');
    expect(wallet.hasUnsentUsage).toBe(false);
    wallet.recordUsage(T0, { requests: 1 });
    expect(wallet.hasUnsentUsage).toBe(true);
    const lost = wallet.buildRequest(T0);
    expect(lost.usage).not.toBeNull();
    // The call failed: the batch is still owed.
    expect(wallet.hasUnsentUsage).toBe(true);
    roundTrip(wallet, gate, T0 + 10);
    expect(wallet.hasUnsentUsage).toBe(false);
    expect(gate.drainUsage()).toEqual({ '2024-03-05': expect.objectContaining({ requests: 1 }) });
  });
});

describe('LeaseWallet on a newer snapshot version', () => {
  it('stops spending tokens granted under the older one, and has them refunded', () => {
    const gate = new GateLedger();
    gate.setLimits([minute(100)], 1);
    const wallet = new LeaseWallet('a');
    expect(wallet.take(['tenant:minute'], T0)).toEqual({ ok: false, reason: 'need_lease' });
    // Ask for many tokens at once so some are still held when the limit changes.
    for (let i = 0; i < 20; i++) wallet.take(['tenant:minute'], T0);
    roundTrip(wallet, gate, T0);
    expect(wallet.take(['tenant:minute'], T0 + 1).ok).toBe(true);
    expect(wallet.take(['tenant:minute'], T0 + 2).ok).toBe(true);

    gate.setLimits([minute(3)], 2);
    roundTrip(wallet, gate, T0 + 3);
    expect(wallet.version).toBe(2);
    // 2 spent; the old grant's unspent tokens are gone from this isolate, and the gate gets them back on the
    // next call, so exactly one more request fits under the new limit of 3.
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      const now = T0 + 10 + i;
      let r = wallet.take(['tenant:minute'], now);
      if (!r.ok && r.reason === 'need_lease') {
        roundTrip(wallet, gate, now);
        r = wallet.take(['tenant:minute'], now);
      }
      if (r.ok) admitted++;
    }
    expect(admitted).toBe(1);
  });
});
