// Battery, key check timing against the gateway in its workerd process: a wrong key that is right in many
// leading characters must not be answered measurably slower (or faster) than one right in none, or the time
// would tell a guesser how far along it is.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BatteryTenant, closeConnections, createTenant, gatewayRequest } from './control';

// One suite of the project's one file (./process.test.ts): its hooks run around its own tests only.
describe('key-timing', () => {
  const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const ROUNDS = 300;

  let tenant: BatteryTenant;

  beforeAll(async () => {
    tenant = await createTenant({ scopes: ['proxy:read'] });
  });

  afterAll(() => closeConnections());

  /** A base62 character other than `ch`. */
  function otherThan(ch: string): string {
    const i = BASE62.indexOf(ch);
    return BASE62[(i + 1 + randomInt(BASE62.length - 1)) % BASE62.length];
  }

  /** The real key with its first `right` characters kept and every later one changed. */
  function wrongKey(key: string, right: number): string {
    let out = key.slice(0, right);
    for (let i = right; i < key.length; i++) out += otherThan(key[i]);
    return out;
  }

  async function timed(secret: string): Promise<{ ms: number; status: number }> {
    const started = performance.now();
    const res = await gatewayRequest({ host: tenant.host, path: '/x', headers: { 'x-api-key': secret } });
    return { ms: performance.now() - started, status: res.status };
  }

  function quantile(sorted: number[], q: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  describe('battery: key check timing', () => {
    test('11 the key check takes as long however many leading characters are right', async () => {
      const key = tenant.key;
      // `gw_` is public; 10 characters are the displayed prefix (an index on it would be the classic leak);
      // all but the last is as close as a wrong key gets.
      const classes = { none: 3, prefix: 10, allButLast: key.length - 1 } as const;
      type Class = keyof typeof classes;
      const names = Object.keys(classes) as Class[];
      expect((await timed(key)).status).toBe(200);
      // Warm the connection, the snapshot and the code paths before anything is measured.
      for (let i = 0; i < 30; i++) await timed(wrongKey(key, classes[names[i % names.length]]));

      const samples: Record<Class, number[]> = { none: [], prefix: [], allButLast: [] };
      for (let round = 0; round < ROUNDS; round++) {
        // Interleaved, in a fresh random order each round, so load from elsewhere falls on every class alike.
        const order = [...names].sort(() => randomInt(3) - 1);
        for (const name of order) {
          const { ms, status } = await timed(wrongKey(key, classes[name]));
          expect(status).toBe(401);
          samples[name].push(ms);
        }
      }
      const summary = Object.fromEntries(
        names.map((name) => {
          const sorted = [...samples[name]].sort((x, y) => x - y);
          return [name, { p25: quantile(sorted, 0.25), median: quantile(sorted, 0.5) }];
        }),
      ) as Record<Class, { p25: number; median: number }>;
      const baseline = summary.none;
      // A lookup or comparison that depends on the right characters costs a database round trip or a
      // per-character loop: milliseconds. Noise on a loaded machine moves medians and quartiles of interleaved
      // samples together, so a bound of 1 ms or a quarter of the baseline tells the two apart.
      const bound = Math.max(1, 0.25 * baseline.median);
      for (const name of ['prefix', 'allButLast'] as const) {
        const label = `${name} vs none: ${JSON.stringify(summary)}`;
        expect(Math.abs(summary[name].median - baseline.median), label).toBeLessThan(bound);
        expect(Math.abs(summary[name].p25 - baseline.p25), label).toBeLessThan(bound);
      }
    });
  });
});
