// Battery case 21 (DESIGN.md "Data plane" limits): a limit changed through the API holds within 1 s in an
// isolate other than the one that changed it (test/worker/isolates.ts).
import { describe, expect, test } from 'vitest';
import { now } from '../../worker/clock';
import { api } from '../../worker/control-client';
import { awayFromMinuteEnd, limit, limitedTenant, sleep } from '../../worker/gate-helpers';
import { levelClocks } from '../../worker/isolates';
import { admitted, hammer, type Outcome } from './limits-load';

describe('battery: limits', () => {
  test('21 a PATCHed limit holds within 1 s under load, lowered and raised: load through B, PATCH through A', async () => {
    const t = await limitedTenant({ rateLimit: limit(100_000) });
    awayFromMinuteEnd(40_000);
    // The gate runs in A, on A's clock: B must count the same minute.
    await levelClocks();
    let stopped = false;
    const live: Outcome[] = [];
    // Paced: B answers a 429 without any I/O, so unpaced loops spin thousands a second and starve the one
    // workerd process (Postgres bridge, the gate, the PATCH itself) of its two cores. A few hundred a second.
    const load = hammer(t, 4, () => stopped, live, { through: 'B', pauseMs: 5 });
    // The lowered limit must already be spent when it comes; how long that takes depends on the machine.
    const spentBy = now() + 15_000;
    while (admitted(live) <= 25 && now() < spentBy) await sleep(100);
    const lowerSentAt = now();
    const lowered = await api('PATCH', `/v1/tenants/${t.tenantId}`, { body: { rate_limit: limit(20) } });
    const loweredAt = now();
    await sleep(3_500);
    const raiseSentAt = now();
    const raised = await api('PATCH', `/v1/tenants/${t.tenantId}`, { body: { rate_limit: limit(100_000) } });
    const raisedAt = now();
    await sleep(3_500);
    stopped = true;
    const outcomes = await load;
    expect([lowered.status, raised.status]).toEqual([200, 200]);

    // More than the lowered limit was admitted before it: once it holds, nothing more may pass this minute.
    expect(admitted(outcomes.filter((o) => o.sentAt < lowerSentAt))).toBeGreaterThan(20);
    const underLow = outcomes.filter((o) => o.sentAt >= loweredAt + 1_000 && o.sentAt < raiseSentAt);
    const underHigh = outcomes.filter((o) => o.sentAt >= raisedAt + 1_000);
    console.log(
      `PATCHed limit through A, load through B: ${underLow.length} requests under the lowered, ` +
        `${underHigh.length} under the raised (PATCHes answered in ${loweredAt - lowerSentAt} and ` +
        `${raisedAt - raiseSentAt} ms)`,
    );
    expect(underLow.length).toBeGreaterThanOrEqual(5);
    expect(underLow.filter((o) => o.status !== 429 || o.code !== 'rate_limited')).toEqual([]);
    expect(underHigh.length).toBeGreaterThanOrEqual(5);
    expect(underHigh.filter((o) => o.status !== 200)).toEqual([]);
  }, 90_000);
});
