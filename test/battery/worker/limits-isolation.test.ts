// Battery case 22 (DESIGN.md "Data plane" limits): one tenant's exhaustion never touches another.
import { describe, expect, test } from 'vitest';
import { awayFromMinuteEnd, limit, limitedTenant, sleep } from '../../worker/gate-helpers';
import { admitted, hammer, median, type Outcome, type Timed, timed } from './limits-load';

describe('battery: limits', () => {
  test('22 tenant A held at its limit neither limits nor slows tenant B', async () => {
    const a = await limitedTenant({ rateLimit: limit(10) });
    // B is limited too (far above its load), so its requests go through its own gate and wallet. Its
    // failure policy is open: on a starved 2-core machine a lease call can outlast its 2 s timeout, which
    // is the failure policy's case (38), not A's doing; a 429 or a wait on A would still show here.
    const b = await limitedTenant({ rateLimit: limit(1_000_000), limits: { on_gate_error: 'open' } });
    await awayFromMinuteEnd(30_000);
    const alone: Timed[] = [];
    const loaded: Timed[] = [];
    const aOutcomes: Outcome[] = [];
    // Interleaved rounds, so a slow spell of the shared machine falls on both sides of the comparison.
    for (let round = 0; round < 4; round++) {
      alone.push(...(await timed(b, 1_000)));
      let stopped = false;
      const pressure = hammer(a, 6, () => stopped);
      await sleep(100);
      loaded.push(...(await timed(b, 1_000)));
      stopped = true;
      aOutcomes.push(...(await pressure));
    }
    const aloneMs = median(alone.map((o) => o.tookMs));
    const loadedMs = median(loaded.map((o) => o.tookMs));
    console.log(
      `B median ${aloneMs} ms alone (${alone.length}), ${loadedMs} ms with A at its limit (${loaded.length}); A ${aOutcomes.length} requests`,
    );
    expect(admitted(aOutcomes)).toBeLessThanOrEqual(10);
    // A really was held at its limit the whole time, refused over and over.
    expect(aOutcomes.filter((o) => o.status === 429).length).toBeGreaterThanOrEqual(20);
    expect([...alone, ...loaded].filter((o) => o.status !== 200)).toEqual([]);
    // A shares this isolate's CPU with B, so some slowdown is the harness; waiting on A's gate or lease
    // would be far more than this.
    expect(loadedMs).toBeLessThanOrEqual(aloneMs * 5 + 30);
  }, 60_000);
});
