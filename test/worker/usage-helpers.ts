// Shared by the usage tests: USAGE queue messages built as an isolate builds them, handed to the worker's
// queue() as a delivery of the real queue would be (createMessageBatch), and the usage rows in Postgres.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { newId } from '../../src/core/crypto/ids';
import type { UsageMessage, UsageRow } from '../../src/core/usage/usage-batch';
import { usageBatches, usageKeyDaily } from '../../src/db/usage-schema';
import { sendUsageNow } from '../../src/edge/usage-batch';
import worker from '../../src/index';
import { now } from './clock';
import { withDb } from './helpers';

export function usageMessage(rows: UsageRow[], id = newId('ub')): UsageMessage {
  return { v: 1, id, rows };
}

/** Today's UTC date, the day rows built by tests are counted on. */
export const today = () => new Date(now()).toISOString().slice(0, 10);

/** What a queue() handler did with a delivery (cloudflare:test's getQueueResult; it reports no retry delay). */
export type QueueResult = {
  outcome: string;
  ackAll: boolean;
  retryBatch: { retry: boolean };
  explicitAcks: string[];
  retryMessages: { msgId: string }[];
};

/** Delivers `messages` to the worker's queue() as one delivery of `queue`; answers what it acked or retried. */
export async function deliver(
  messages: UsageMessage[],
  opts: { queue?: string; attempts?: number } = {},
): Promise<QueueResult> {
  const batch = createMessageBatch<unknown>(
    opts.queue ?? 'gateway-usage',
    messages.map((body, i) => ({
      id: `msg-${i}-${body.id}`,
      timestamp: new Date(),
      attempts: opts.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return (await getQueueResult(batch, ctx)) as QueueResult;
}

/** The usage_key_daily rows of one key, as stored. */
export function keyRows(tenantId: string, keyId: string) {
  return withDb((db) =>
    db
      .select()
      .from(usageKeyDaily)
      .where(and(eq(usageKeyDaily.tenantId, tenantId), eq(usageKeyDaily.keyId, keyId))),
  );
}

/** Whether the consumer has recorded batch id `id`. */
export async function batchRecorded(id: string): Promise<boolean> {
  const rows = await withDb((db) => db.select().from(usageBatches).where(eq(usageBatches.id, id)));
  return rows.length === 1;
}

/** How many connections the outage projects' database switch has refused while down (test/setup). */
export async function refusedConnections(): Promise<number> {
  const res = await fetch(`${env.TEST_CONTROL_URL}/database/refused`);
  return ((await res.json()) as { refused: number }).refused;
}

/**
 * Sends this isolate's usage batch while the database is down and waits (bounded) until a connection has been
 * refused since: the queue took the batch and its consumer tried to write it, and failed.
 */
export async function sendUsageDuringOutage(): Promise<void> {
  const before = await refusedConnections();
  if (!(await sendUsageNow(env))) throw new Error('the USAGE queue did not take the batch');
  const deadline = Date.now() + 10_000;
  while ((await refusedConnections()) === before) {
    if (Date.now() >= deadline) throw new Error('no write was tried while the database was down');
    await new Promise((done) => setTimeout(done, 50));
  }
}
