// The end of a lease simulation (./leases): every grant reported, then the checks only the whole run can make.
// (2c) with everything reported, used = admitted + tokens on answers lost, and one isolate asking until
//      refused brings that to exactly the newest limit (the tail is exact);
// (3) once an isolate has dropped its grants (a limit changed), nothing asked for before the drop is spent;
// (5) rejected requests spend nothing: the grants' reported use adds up exactly to admissions.
import { expect } from 'vitest';
import { countersFor } from '../../../../src/core/limits/lease';
import { windowStart } from '../../../../src/core/limits/windows';
import { check, type LeaseRun, type LeaseScenario, runLeases } from './leases';

export function simulateLeases(sc: LeaseScenario) {
  const run = runLeases(sc);
  const { s, gate, isos, admitted, lost, isoNow, gateLease, deliver } = run;
  // Every grant has lapsed after 31 s; each isolate's next call reports them all. Twice: a request that gave
  // up left demand that the first call still asks tokens for.
  const drain = () => {
    s.now += 31_000;
    for (const iso of isos) {
      const req = iso.wallet.buildRequest([], iso.version.version, isoNow(iso));
      deliver(iso, gateLease(req), s.now);
    }
  };
  drain();
  drain();
  const state = gate.snapshot();
  for (const [id, c] of Object.entries(state.counters)) {
    const k = `${id}@${c.windowStart}`;
    expect(c.used, `(2c) ${k}`).toBe((admitted.get(k) ?? 0) + (lost.get(k) ?? 0));
  }
  sweep(run, state.counters);
  drain();
  spentAsReported(run);
  return run.stats;
}

/** One isolate asks until refused: the window's count reaches the newest limit exactly. */
function sweep(run: LeaseRun, before: Record<string, { windowStart: number; used: number }>) {
  const { s, isos, admitted, lost, isoNow, gateLease, deliver, kindOf } = run;
  const iso = isos[0]!;
  const ids = countersFor(run.sc.tenant, null, null).map((c) => c.id);
  const specs = ids.map((id) => iso.version.specs.get(id)!);
  for (let n = 0; ids.length > 0; n++) {
    check(n < 20_000, () => 'the sweep does not end');
    let r = iso.wallet.take(ids, isoNow(iso));
    if (!r.ok && r.reason === 'need_lease') {
      deliver(iso, gateLease(iso.wallet.buildRequest(specs, iso.version.version, isoNow(iso))), s.now);
      r = iso.wallet.take(ids, isoNow(iso));
    }
    if (r.ok) {
      run.admit(iso, ids);
      continue;
    }
    if (r.reason === 'need_lease') throw new Error('a fresh lease left a request without tokens');
    run.reject(iso, r);
    const ws = windowStart(kindOf(r.counter), s.now);
    const k = `${r.counter}@${ws}`;
    const startUsed = before[r.counter]?.windowStart === ws ? before[r.counter]!.used : 0;
    const limit = iso.version.specs.get(r.counter)!.limit;
    expect((admitted.get(k) ?? 0) + (lost.get(k) ?? 0), `tail of ${k}`).toBe(Math.max(limit, startUsed));
    return;
  }
}

/** (3) and (5), from the reports the gate received. */
function spentAsReported(run: LeaseRun) {
  const { reported, grantWindow, admitted, sentTick } = run;
  const usedBy = new Map<string, number>();
  for (const [k, used] of reported) {
    const window = grantWindow.get(k)!;
    usedBy.set(window, (usedBy.get(window) ?? 0) + used);
  }
  for (const k of new Set([...usedBy.keys(), ...admitted.keys()]))
    expect(usedBy.get(k) ?? 0, `(5) ${k}`).toBe(admitted.get(k) ?? 0);
  for (const iso of run.isos) {
    for (const drop of iso.drops) {
      const spent = new Map<string, number>();
      for (const [k, used] of reported) {
        const [leaseId, counter] = k.split('|') as [string, string];
        if (leaseId.startsWith(`${iso.id}:`) && sentTick.get(leaseId)! < drop.tick)
          spent.set(counter, (spent.get(counter) ?? 0) + used);
      }
      for (const [counter, n] of spent) {
        const before = drop.admitted.get(counter) ?? 0;
        check(
          n <= before,
          () => `(3) ${iso.id} spent ${n - before} ${counter} tokens asked for before a drop`,
        );
      }
    }
  }
}
