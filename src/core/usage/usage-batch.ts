// Usage on its way to Postgres through the USAGE queue (DESIGN.md principle 2, "Usage"), the pure parts:
// the isolate's batch keyed by tenant, key and UTC day; its split into messages of at most 128 KB, each
// under a batch id of its own; and the consumer's side: reading a message, merging a whole delivery into
// rows in one fixed order, and the back-off of a delivery that could not be written.
import { addUsage, nonZero, USAGE_FIELDS, type UsageCounts } from './usage-counts';

/** What a tenant used on one UTC day (`YYYY-MM-DD`), through one key or (`key` null) none. */
export type UsageRow = { tenant: string; key: string | null; date: string; counts: Partial<UsageCounts> };

/** One message of the USAGE queue. `id` stays with its rows until a send succeeds: the consumer counts it once. */
export type UsageMessage = { v: 1; id: string; rows: UsageRow[] };

/** A message ready to send, with the size of its JSON body. */
export type PreparedMessage = { message: UsageMessage; bytes: number };

/** Cloudflare Queues takes a message of up to 128 KB; a batch larger than this goes as several. */
export const MAX_MESSAGE_BYTES = 128_000;

const encoder = new TextEncoder();
// Ids and dates are ASCII, where a string's length is its UTF-8 size: no encoding per row of a large batch.
// JSON escapes control characters, so printable ASCII is all it can hold unless a string had more.
const NON_ASCII = /[^ -~]/;
const jsonBytes = (value: unknown) => {
  const json = JSON.stringify(value);
  return NON_ASCII.test(json) ? encoder.encode(json).byteLength : json.length;
};

/** The isolate's usage not yet sent: one row per tenant, key and day, the counts added up. */
export class UsageBatch {
  private rows = new Map<string, UsageRow>();

  add(tenant: string, key: string | null, date: string, counts: Partial<UsageCounts>): void {
    // Ids hold no newline; a key id is never empty, so '' stands for "no key".
    const id = `${tenant}\n${key ?? ''}\n${date}`;
    let row = this.rows.get(id);
    if (!row) {
      row = { tenant, key: key || null, date, counts: {} };
      this.rows.set(id, row);
    }
    addUsage(row.counts, counts);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Every row with something counted, leaving the batch empty. */
  take(): UsageRow[] {
    const rows = [...this.rows.values()].filter((row) => Object.keys(row.counts).length > 0);
    this.rows.clear();
    return rows;
  }
}

/**
 * `rows` as messages whose JSON body is at most `maxBytes` each, every message under an id of its own
 * (`newId`). A row is never split; one larger than `maxBytes` on its own (ids are short: it cannot happen)
 * still goes, alone in its message.
 */
export function toMessages(
  rows: UsageRow[],
  newId: () => string,
  maxBytes = MAX_MESSAGE_BYTES,
): PreparedMessage[] {
  const out: PreparedMessage[] = [];
  let current: PreparedMessage | null = null;
  for (const row of rows) {
    const rowBytes = jsonBytes(row);
    // A row after the first adds a comma.
    if (current && current.bytes + 1 + rowBytes <= maxBytes) {
      current.message.rows.push(row);
      current.bytes += 1 + rowBytes;
      continue;
    }
    const message: UsageMessage = { v: 1, id: newId(), rows: [row] };
    current = { message, bytes: jsonBytes({ ...message, rows: [] }) + rowBytes };
    out.push(current);
  }
  return out;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ID_LENGTH = 128;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;

function readRow(value: unknown): UsageRow | null {
  if (typeof value !== 'object' || value === null) return null;
  const { tenant, key, date, counts } = value as Record<string, unknown>;
  if (!isId(tenant) || !(key === null || isId(key)) || typeof date !== 'string' || !DATE.test(date))
    return null;
  if (typeof counts !== 'object' || counts === null) return null;
  const read: Partial<UsageCounts> = {};
  for (const field of USAGE_FIELDS) {
    const n = (counts as Record<string, unknown>)[field];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return null;
    if (n > 0) read[field] = n;
  }
  return { tenant, key, date, counts: read };
}

/** A message body as the consumer received it, or null when it is not one of ours (then never counted). */
export function readUsageMessage(body: unknown): UsageMessage | null {
  if (typeof body !== 'object' || body === null) return null;
  const { v, id, rows } = body as Record<string, unknown>;
  if (v !== 1 || !isId(id) || !Array.isArray(rows)) return null;
  const read: UsageRow[] = [];
  for (const row of rows) {
    const r = readRow(row);
    if (!r) return null;
    read.push(r);
  }
  return { v: 1, id, rows: read };
}

/** One message per id (a producer's resend may arrive in the same delivery), ids in ascending order. */
export function distinctMessages(messages: UsageMessage[]): UsageMessage[] {
  const byId = new Map<string, UsageMessage>();
  for (const m of messages) if (!byId.has(m.id)) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compare(a.id, b.id));
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Tenant, then key (no key first), then date: the one order every writer takes its row locks in. */
export function compareRows(a: UsageRow, b: UsageRow): number {
  return (
    compare(a.tenant, b.tenant) ||
    (a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : compare(a.key, b.key)) ||
    compare(a.date, b.date)
  );
}

/** Rows of every message added up per tenant, key and date, in the order of `compareRows`. */
function merged(messages: UsageMessage[], keyOf: (row: UsageRow) => string | null): UsageRow[] {
  const batch = new UsageBatch();
  for (const m of messages) for (const row of m.rows) batch.add(row.tenant, keyOf(row), row.date, row.counts);
  return batch.take().sort(compareRows);
}

/**
 * A delivery merged: `tenants`, each tenant's totals per day (every row, keyed or not, for usage_daily), and
 * `keys`, each key's per day (for usage_key_daily); both sorted by tenant, key, date.
 */
export function mergeDelivery(messages: UsageMessage[]): { tenants: UsageRow[]; keys: UsageRow[] } {
  const keyed = messages.map((m) => ({ ...m, rows: m.rows.filter((r) => r.key !== null) }));
  return { tenants: merged(messages, () => null), keys: merged(keyed, (row) => row.key) };
}

/** A row's counts with every counter present (zero when it was not sent). */
export function fullCounts(counts: Partial<UsageCounts>): UsageCounts {
  const out = Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts;
  addUsage(out, nonZero(counts));
  return out;
}

/**
 * Seconds before a delivery that failed `attempts` times (1 = its first) is tried again: `firstMs`,
 * doubling up to `maxMs`, in whole seconds (what the queue takes), at least 1.
 */
export function retryDelaySeconds(attempts: number, firstMs: number, maxMs: number): number {
  const doublings = Math.min(Math.max(0, attempts - 1), 40);
  return Math.max(1, Math.ceil(Math.min(firstMs * 2 ** doublings, maxMs) / 1000));
}

/** How long, in seconds, `retries` retries with that back-off keep a delivery alive. */
export function retriesSpan(retries: number, firstMs: number, maxMs: number): number {
  let total = 0;
  for (let attempt = 1; attempt <= retries; attempt++) total += retryDelaySeconds(attempt, firstMs, maxMs);
  return total;
}
