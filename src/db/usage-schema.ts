// The usage tables (DESIGN.md "Usage"): daily counters per tenant and per key, written by the USAGE queue
// consumer (src/usage), and the batch and flush ids that make a write idempotent. Beside ./schema, which they
// reference; drizzle.config.ts reads both.
import { bigint, date, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, tenants } from './schema';

const counter = () => bigint({ mode: 'number' }).notNull().default(0);

// The counters of a usage row, named as the usage API names them (core/usage/usage-counts USAGE_FIELDS).
const usageCounters = () => ({
  requests: counter(),
  allowed: counter(),
  rateLimited: counter(),
  quotaExceeded: counter(),
  // Refused by a limit in shadow mode (limits.mode: shadow), forwarded all the same.
  wouldLimit: counter(),
  unauthorized: counter(),
  status2xx: bigint('status_2xx', { mode: 'number' }).notNull().default(0),
  status3xx: bigint('status_3xx', { mode: 'number' }).notNull().default(0),
  status4xx: bigint('status_4xx', { mode: 'number' }).notNull().default(0),
  status5xx: bigint('status_5xx', { mode: 'number' }).notNull().default(0),
  backend4xx: bigint('backend_4xx', { mode: 'number' }).notNull().default(0),
  backend5xx: bigint('backend_5xx', { mode: 'number' }).notNull().default(0),
  bytesIn: counter(),
  bytesOut: counter(),
});

export const usageDaily = pgTable(
  'usage_daily',
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    date: date({ mode: 'string' }).notNull(),
    ...usageCounters(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.date] })],
);

// One key's usage per UTC day, written with usage_daily by the USAGE queue consumer (src/usage). No foreign
// key to api_keys: a key's rows outlive it (and a row for a key gone by the time it is written still lands).
export const usageKeyDaily = pgTable(
  'usage_key_daily',
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    keyId: text().notNull(),
    date: date({ mode: 'string' }).notNull(),
    ...usageCounters(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.keyId, t.date] })],
);

// One row per USAGE queue message written, in the delivery's transaction: a redelivered message, or one an
// isolate sent again after a send whose answer was lost, is recognised and not added twice. Pruned after a
// week by the cron trigger (src/db/usage-batches.ts), long after the queue's last retry (about 30 h, then as
// long again from the dead-letter queue).
export const usageBatches = pgTable(
  'usage_batches',
  {
    id: text().primaryKey(),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.createdAt)],
);

// One row per usage flush from a TenantGate, written in the flush's transaction: a retried flush whose
// first attempt did commit is recognised and not added twice.
// Pruned after a week by the cron trigger (src/db/usage.ts), long after any retry of the flush.
export const usageFlushes = pgTable(
  'usage_flushes',
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.createdAt)],
);
