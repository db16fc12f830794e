// The USAGE queue's consumer (DESIGN.md principle 2, "Usage"): the worker's queue() hands it every
// delivery, of the usage queue and of its dead-letter queue alike. A delivery is written whole in one
// transaction (src/db/usage-batches), then acknowledged; when it cannot be (Postgres down), all of it is
// retried with a back-off that, over the queue's max_retries (wrangler.toml), spans more than 24 h. What
// still fails goes to the dead-letter queue, whose consumer is this one too: usage is never dropped.
import { logError } from '../core/http/log';
import { waitMs } from '../core/time/clock';
import { readUsageMessage, retryDelaySeconds, type UsageMessage } from '../core/usage/usage-batch';
import { connectDatabase } from '../db/client';
import { writeUsageDelivery } from '../db/usage-batches';
import type { Bindings } from '../env';

/** The queues wrangler.toml has this worker consume. */
export const USAGE_QUEUE = 'gateway-usage';
export const USAGE_DEAD_LETTER_QUEUE = 'gateway-usage-dlq';

const CONSUMED = new Set([USAGE_QUEUE, USAGE_DEAD_LETTER_QUEUE]);

/** The worker's queue(): a usage delivery is written; one of a queue this worker does not know is kept. */
export async function consumeQueue(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  if (!CONSUMED.has(batch.queue)) {
    logError({ at: 'queue', code: 'unknown_queue' });
    batch.retryAll({ delaySeconds: Math.ceil(waitMs('usageRetryMax') / 1000) });
    return;
  }
  await consumeUsage(batch, env);
}

/** Writes one delivery of usage messages; acknowledges it once written, or retries all of it. */
export async function consumeUsage(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const messages: UsageMessage[] = [];
  for (const message of batch.messages) {
    const read = readUsageMessage(message.body);
    // Not one of ours: no attempt would ever count it.
    if (read) messages.push(read);
    else logError({ at: 'usage.consume', code: 'malformed_usage_message' });
  }
  if (batch.queue === USAGE_DEAD_LETTER_QUEUE && messages.length > 0) {
    logError({ at: 'usage.consume', code: 'usage_from_dead_letter_queue' });
  }
  try {
    if (messages.length > 0) {
      const { db, close } = await connectDatabase(env);
      try {
        await writeUsageDelivery(db, messages);
      } finally {
        await close();
      }
    }
    batch.ackAll();
  } catch (err) {
    const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
    const delaySeconds = retryDelaySeconds(attempts, waitMs('usageRetryFirst'), waitMs('usageRetryMax'));
    logError({ at: 'usage.consume', code: 'usage_write_failed' }, err);
    batch.retryAll({ delaySeconds });
  }
}
