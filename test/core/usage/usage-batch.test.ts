import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WAITS } from '../../../src/core/time/clock';
import {
  compareRows,
  distinctMessages,
  fullCounts,
  MAX_MESSAGE_BYTES,
  mergeDelivery,
  readUsageMessage,
  retriesSpan,
  retryDelaySeconds,
  toMessages,
  UsageBatch,
  type UsageMessage,
  type UsageRow,
} from '../../../src/core/usage/usage-batch';
import { addUsage, emptyUsage, nonZero } from '../../../src/core/usage/usage-counts';

const counter = (prefix: string) => {
  let n = 0;
  return () => `${prefix}${++n}`;
};
const bodyBytes = (m: UsageMessage) => new TextEncoder().encode(JSON.stringify(m)).byteLength;

describe('usage counts', () => {
  it('adds field by field, skipping zeros and what is not a number', () => {
    const into = { requests: 1 };
    addUsage(into, { requests: 2, allowed: 0, bytes_in: Number.NaN, status_2xx: 1 });
    expect(into).toEqual({ requests: 3, status_2xx: 1 });
    expect(nonZero({ requests: 0, allowed: 4 })).toEqual({ allowed: 4 });
    expect(fullCounts({ allowed: 4 })).toEqual({ ...emptyUsage(), allowed: 4 });
  });
});

describe('UsageBatch', () => {
  it('keys rows by tenant, key (or none) and date, adding counts up', () => {
    const batch = new UsageBatch();
    batch.add('ten_a', 'key_1', '2026-04-20', { requests: 1, allowed: 1 });
    batch.add('ten_a', 'key_1', '2026-04-20', { requests: 1, bytes_out: 10 });
    batch.add('ten_a', null, '2026-04-20', { requests: 1, unauthorized: 1 });
    batch.add('ten_a', 'key_1', '2026-04-21', { requests: 1 });
    batch.add('ten_b', 'key_1', '2026-04-20', { requests: 1 });
    expect(batch.size).toBe(4);
    expect(batch.take().sort(compareRows)).toEqual([
      { tenant: 'ten_a', key: null, date: '2026-04-20', counts: { requests: 1, unauthorized: 1 } },
      {
        tenant: 'ten_a',
        key: 'key_1',
        date: '2026-04-20',
        counts: { requests: 2, allowed: 1, bytes_out: 10 },
      },
      { tenant: 'ten_a', key: 'key_1', date: '2026-04-21', counts: { requests: 1 } },
      { tenant: 'ten_b', key: 'key_1', date: '2026-04-20', counts: { requests: 1 } },
    ]);
    expect(batch.size).toBe(0);
    expect(batch.take()).toEqual([]);
  });

  it('sends no row that counted nothing', () => {
    const batch = new UsageBatch();
    batch.add('ten_a', null, '2026-04-20', { bytes_in: 0 });
    expect(batch.take()).toEqual([]);
  });
});

describe('toMessages', () => {
  const rows = (n: number): UsageRow[] =>
    Array.from({ length: n }, (_, i) => ({
      tenant: `ten_${String(i).padStart(20, '0')}`,
      key: `key_${String(i).padStart(20, '0')}`,
      date: '2026-04-20',
      counts: { requests: 1_000_000 + i, allowed: 999_999, status_2xx: 999_999, bytes_out: 123_456_789 },
    }));

  it('one message when the rows fit, under one id', () => {
    const out = toMessages(rows(3), counter('ub_'));
    expect(out.map((p) => p.message.id)).toEqual(['ub_1']);
    expect(out[0].message.rows).toHaveLength(3);
    expect(out[0].bytes).toBe(bodyBytes(out[0].message));
  });

  it('splits what is larger than 128 KB into messages each within it, each with its own id, no row lost', () => {
    const all = rows(2_000);
    const out = toMessages(all, counter('ub_'));
    expect(out.length).toBeGreaterThan(1);
    for (const { message, bytes } of out) {
      expect(bytes).toBe(bodyBytes(message));
      expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
    expect(new Set(out.map((p) => p.message.id)).size).toBe(out.length);
    expect(out.flatMap((p) => p.message.rows)).toEqual(all);
    // Filled up: every message but the last could not have taken the next row.
    for (const { bytes } of out.slice(0, -1)) expect(bytes).toBeGreaterThan(MAX_MESSAGE_BYTES - 200);
  });

  it('holds for any rows and any limit: sizes exact, within the limit, rows in order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Any code points, control characters and non-ASCII included: sizes are UTF-8 bytes.
            tenant: fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }),
            key: fc.option(fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' })),
            date: fc.constant('2026-04-20'),
            counts: fc.record({ requests: fc.nat(), bytes_in: fc.nat() }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 300, max: 3_000 }),
        (input, limit) => {
          const out = toMessages(input, counter('ub_'), limit);
          for (const { message, bytes } of out) {
            expect(bytes).toBe(bodyBytes(message));
            expect(bytes).toBeLessThanOrEqual(limit);
          }
          expect(out.flatMap((p) => p.message.rows)).toEqual(input);
        },
      ),
    );
  });
});

describe('readUsageMessage', () => {
  const good = {
    v: 1,
    id: 'ub_1',
    rows: [{ tenant: 'ten_a', key: null, date: '2026-04-20', counts: { requests: 2, allowed: 0 } }],
  };

  it('reads one of ours, dropping zero counts and unknown fields', () => {
    expect(readUsageMessage({ ...good, extra: true })).toEqual({
      v: 1,
      id: 'ub_1',
      rows: [{ tenant: 'ten_a', key: null, date: '2026-04-20', counts: { requests: 2 } }],
    });
    const withUnknown = { ...good, rows: [{ ...good.rows[0], counts: { requests: 1, later_field: 3 } }] };
    expect(readUsageMessage(withUnknown)?.rows[0].counts).toEqual({ requests: 1 });
  });

  it('refuses what is not one of ours', () => {
    const row = good.rows[0];
    for (const bad of [
      null,
      'text',
      { ...good, v: 2 },
      { ...good, id: '' },
      { ...good, rows: 'x' },
      { ...good, rows: [{ ...row, tenant: 7 }] },
      { ...good, rows: [{ ...row, key: '' }] },
      { ...good, rows: [{ ...row, date: '20 April' }] },
      { ...good, rows: [{ ...row, counts: { requests: -1 } }] },
      { ...good, rows: [{ ...row, counts: { requests: 1.5 } }] },
      { ...good, rows: [{ ...row, counts: null }] },
    ]) {
      expect(readUsageMessage(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe('merging a delivery', () => {
  const message = (id: string, rows: UsageRow[]): UsageMessage => ({ v: 1, id, rows });

  it('keeps one message per id, ids ascending', () => {
    const a = message('ub_b', []);
    const b = message('ub_a', []);
    expect(distinctMessages([a, b, { ...a, rows: [] }]).map((m) => m.id)).toEqual(['ub_a', 'ub_b']);
  });

  it('adds up every message: tenant totals (keyed or not) and per-key rows, in tenant, key, date order', () => {
    const merged = mergeDelivery([
      message('ub_1', [
        { tenant: 'ten_b', key: 'key_2', date: '2026-04-20', counts: { requests: 1 } },
        { tenant: 'ten_a', key: null, date: '2026-04-20', counts: { requests: 4, unauthorized: 4 } },
      ]),
      message('ub_2', [
        { tenant: 'ten_a', key: 'key_1', date: '2026-04-21', counts: { requests: 2 } },
        { tenant: 'ten_a', key: 'key_1', date: '2026-04-20', counts: { requests: 3, allowed: 3 } },
        { tenant: 'ten_b', key: 'key_2', date: '2026-04-20', counts: { requests: 5 } },
      ]),
    ]);
    expect(merged.tenants).toEqual([
      {
        tenant: 'ten_a',
        key: null,
        date: '2026-04-20',
        counts: { requests: 7, unauthorized: 4, allowed: 3 },
      },
      { tenant: 'ten_a', key: null, date: '2026-04-21', counts: { requests: 2 } },
      { tenant: 'ten_b', key: null, date: '2026-04-20', counts: { requests: 6 } },
    ]);
    expect(merged.keys).toEqual([
      { tenant: 'ten_a', key: 'key_1', date: '2026-04-20', counts: { requests: 3, allowed: 3 } },
      { tenant: 'ten_a', key: 'key_1', date: '2026-04-21', counts: { requests: 2 } },
      { tenant: 'ten_b', key: 'key_2', date: '2026-04-20', counts: { requests: 6 } },
    ]);
  });

  it('orders rows the same whatever order they came in', () => {
    const row = (tenant: string, key: string | null, date: string): UsageRow => ({
      tenant,
      key,
      date,
      counts: { requests: 1 },
    });
    const rows = [row('a', null, '2'), row('a', 'k', '1'), row('b', null, '1'), row('a', null, '1')];
    const sorted = [...rows].sort(compareRows);
    expect(sorted).toEqual([
      row('a', null, '1'),
      row('a', null, '2'),
      row('a', 'k', '1'),
      row('b', null, '1'),
    ]);
    expect([...rows].reverse().sort(compareRows)).toEqual(sorted);
  });
});

describe('the retry back-off', () => {
  it('doubles from the first wait up to the cap, in whole seconds, never 0', () => {
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(a, 2_000, 3_600_000))).toEqual([2, 4, 8, 16]);
    expect(retryDelaySeconds(30, 2_000, 3_600_000)).toBe(3_600);
    expect(retryDelaySeconds(1, 500, 900_000)).toBe(1);
    expect(retryDelaySeconds(1_000, 2_000, 3_600_000)).toBe(3_600);
  });

  it("over each queue's max_retries of wrangler.toml, spans at least 24 h of Postgres outage", () => {
    const toml = readFileSync(path.join(import.meta.dirname, '../../../wrangler.toml'), 'utf8');
    const consumers = toml.split('[[queues.consumers]]').slice(1);
    expect(consumers.map((c) => /queue = "([^"]+)"/.exec(c)?.[1])).toEqual([
      'gateway-usage',
      'gateway-usage-dlq',
    ]);
    for (const consumer of consumers) {
      const retries = Number(/max_retries = (\d+)/.exec(consumer)?.[1]);
      expect(retriesSpan(retries, WAITS.usageRetryFirst, WAITS.usageRetryMax)).toBeGreaterThanOrEqual(86_400);
    }
    expect(consumers[0]).toContain('dead_letter_queue = "gateway-usage-dlq"');
  });
});
