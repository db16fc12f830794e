// The isolate's usage batch (DESIGN.md principle 2, "Usage"): every finished request adds to one in-memory
// batch keyed by tenant, key and UTC day, sent to the USAGE queue at most `usageSendInterval` (5 s) after it
// was first dirtied, from the waitUntil of the request that dirtied it. A send's messages keep their batch
// ids until the queue takes them: a failed send is sent again, same ids and rows, by the next one, so the
// consumer (src/usage) counts a message once however often it arrives. Never fails a request.
import { newId } from '../core/crypto/ids';
import { logError } from '../core/http/log';
import { utcDate } from '../core/limits/windows';
import { now, waitMs } from '../core/time/clock';
import { type PreparedMessage, toMessages, UsageBatch } from '../core/usage/usage-batch';
import type { UsageCounts } from '../core/usage/usage-counts';
import type { Bindings } from '../env';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };
type UsageEnv = Pick<Bindings, 'USAGE'>;

// A scheduled send not done this long after it was due died with its request: the next count schedules one.
const GIVE_UP_MS = 10_000;
// A send that failed is tried again this many times from the same waitUntil, then by the next count's.
const RETRIES_IN_PLACE = 2;
// Messages the queue would not take are kept up to this size; past it the oldest go (and are logged): a
// queue down for that long must not take the isolate's memory with it.
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

const batch = new UsageBatch();
/** Messages given their ids and not yet taken by the queue, oldest first. */
const unsent: PreparedMessage[] = [];
let unsentBytes = 0;
/** When the scheduled send is due (clock time); 0 when none is scheduled. */
let sendDueAt = 0;
/** The send in progress: sends run one after another, so a message is never in two at once. */
let sending: Promise<unknown> = Promise.resolve();

/** Counts a finished request (or part of it: bytes of a streamed body) for its tenant and key. */
export function countUsage(
  env: UsageEnv,
  ctx: WaitUntil,
  who: { tenantId: string; keyId: string | null },
  counts: Partial<UsageCounts>,
): void {
  batch.add(who.tenantId, who.keyId, utcDate(now()), counts);
  schedule(env, ctx);
}

function schedule(env: UsageEnv, ctx: WaitUntil) {
  const at = now();
  if (sendDueAt !== 0 && at < sendDueAt + GIVE_UP_MS) return;
  sendDueAt = at + waitMs('usageSendInterval');
  ctx.waitUntil(
    (async () => {
      for (let attempt = 0; attempt <= RETRIES_IN_PLACE; attempt++) {
        await new Promise((done) => setTimeout(done, waitMs('usageSendInterval')));
        // Counted from here on finds no send scheduled and schedules its own.
        sendDueAt = 0;
        if (await send(env)) return;
        if (sendDueAt !== 0) return;
        sendDueAt = now() + waitMs('usageSendInterval');
      }
      sendDueAt = 0;
    })(),
  );
}

/** Sends the batch and whatever an earlier send left; true when the queue took everything. */
function send(env: UsageEnv): Promise<boolean> {
  const run = sending.then(() => sendOnce(env));
  sending = run.catch(() => {});
  return run;
}

async function sendOnce(env: UsageEnv): Promise<boolean> {
  const rows = batch.take();
  for (const prepared of toMessages(rows, () => newId('ub'))) keep(prepared);
  while (unsent.length > 0) {
    const { message, bytes } = unsent[0];
    try {
      await env.USAGE.send(message, { contentType: 'json' });
    } catch (err) {
      logError({ at: 'usage.send' }, err);
      return false;
    }
    unsent.shift();
    unsentBytes -= bytes;
  }
  return true;
}

function keep(prepared: PreparedMessage) {
  unsent.push(prepared);
  unsentBytes += prepared.bytes;
  while (unsentBytes > MAX_UNSENT_BYTES && unsent.length > 1) {
    const dropped = unsent.shift();
    if (!dropped) break;
    unsentBytes -= dropped.bytes;
    logError({ at: 'usage.send', code: 'usage_dropped' });
  }
}

/** Tests only: sends what is batched now (and what an earlier send left); resolves when that send is done. */
export function sendUsageNow(env: UsageEnv): Promise<boolean> {
  return send(env);
}
