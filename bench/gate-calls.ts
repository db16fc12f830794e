// `npm run bench:instructions -- gate`: the instructions one lease call costs its workerd process (the
// isolate's side and the TenantGate's, both in it), to a gate whose object is running and to one Miniflare
// has evicted (it evicts a Durable Object idle for 10 s; starting one opens its SQLite database and prepares
// its statements). Two isolates and `tenants` limited tenants; every lease lapses with its minute, so after a
// minute's end each tenant's first request through an isolate calls its gate.
import type pg from 'pg';
import { type Count, SWEEPER_SPIN_SHARE } from './callgrind';
import { runPaced } from './paced';
import { configureTenantsInUse, HIGH_LIMIT, seedGeneratedTenants } from './seed';
import { type Bundle, startWorkers } from './workerd';

export type GateCallCost = { started: number; evicted: number; rounds: number };

type Counted = (pid: number, run: () => Promise<void>) => Promise<Count>;

const ROUNDS = 2;
// Miniflare's eviction of an idle Durable Object, with room to spare.
const EVICTED_AFTER_MS = 15_000;

export async function gateCallInstructions(opts: {
  bundle: Bundle;
  bindings: Record<string, string>;
  client: pg.Client;
  instanceId: string;
  tmpDir: string;
  tenants: number;
  /** What the process ran while `run` ran. */
  counted: Counted;
  log: (line: string) => void;
}): Promise<GateCallCost> {
  const { tenants: n, log } = opts;
  // Generated tenants 2 … n + 1 (tenant 1 is the other rows'), each with its key 0.
  const tenants = Array.from({ length: n }, (_, i) => i + 2);
  await seedGeneratedTenants(opts.client, opts.instanceId, 2, n + 1);
  await configureTenantsInUse(opts.client, tenants, { fromKey: 1, toKey: 0 }, HIGH_LIMIT);
  const workers = await startWorkers({
    bundle: opts.bundle,
    withDurableObjects: true,
    workers: [1, 2].map((i) => ({ name: `gateway-${i}`, bindings: opts.bindings })),
  });
  const pid = workers[0].pid;
  // One request per tenant through one isolate, a few at a time.
  const pass = async (isolate: number) => {
    const run = await runPaced(
      {
        mode: 'warm',
        urls: [workers[isolate].url],
        generated: { tenants, keys: 1 },
        ratePerTenant: 0,
        seconds: 600,
        maxInFlight: 4,
      },
      opts.tmpDir,
    );
    const ok = run.summary.byStatus['200'] ?? 0;
    if (ok !== n)
      throw new Error(`gate calls: ${ok} of ${n} answers were 200 (${JSON.stringify(run.summary.byStatus)})`);
  };
  // Snapshots loaded and the code paths warm (V8's tiers count calls) in both isolates.
  for (let i = 0; i < 2; i++) for (const isolate of [0, 1]) await pass(isolate);

  const started: number[] = [];
  const evicted: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Just past a minute's end, with every gate idle long enough to have been evicted.
    let wait = 60_500 - (Date.now() % 60_000);
    if (wait < EVICTED_AFTER_MS) wait += 60_000;
    log(`  round ${round}/${ROUNDS}: waiting ${(wait / 1000).toFixed(1)} s for the minute's end …`);
    await new Promise((done) => setTimeout(done, wait));
    const passes = [
      await opts.counted(pid, () => pass(0)), // a call each, every gate starting
      await opts.counted(pid, () => pass(1)), // a call each, to the gate just started
      await opts.counted(pid, () => pass(0)), // no call: isolate 1 holds its leases
    ];
    if (passes.some((p) => p.sweeperShare > SWEEPER_SPIN_SHARE))
      throw new Error("gate calls: V8's sweeper spun under valgrind during a pass; run again");
    const [cold, warm, none] = passes.map((p) => p.instructions);
    if (warm <= none || cold <= warm) throw new Error('gate calls: the passes did not call as expected');
    evicted.push((cold - none) / n);
    started.push((warm - none) / n);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { started: mean(started), evicted: mean(evicted), rounds: ROUNDS };
}
