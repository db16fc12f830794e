// Works through one tenant's outbox in order: the oldest undelivered event goes first, and nothing after
// it is sent until it is delivered or has failed for good (24 h of retries).
import { and, asc, eq, sql } from 'drizzle-orm';
import { unseal } from '../core/crypto/seal';
import { now, waitMs } from '../core/time/clock';
import { nextHookAttempt } from '../core/time/hook-backoff';
import { connectDatabase, type Database } from '../db/client';
import { events, instances } from '../db/schema';
import type { Bindings } from '../env';
import { sendHook } from './send-hook';

async function pendingHead(db: Database, tenantId: string) {
  const [head] = await db
    .select({
      event: events,
      hooksUrl: instances.hooksUrl,
      signingSecretSealed: instances.signingSecretSealed,
    })
    .from(events)
    .leftJoin(instances, eq(instances.id, events.instanceId))
    .where(and(eq(events.tenantId, tenantId), eq(events.status, 'pending')))
    .orderBy(asc(events.seq))
    .limit(1);
  return head;
}

async function attempt(env: Bindings, hooksUrl: string, sealed: string, event: typeof events.$inferSelect) {
  let secret: string;
  try {
    secret = await unseal(sealed, env.SEALING_KEY ?? '');
  } catch {
    return "the instance's signing secret cannot be unsealed (was SEALING_KEY changed?)";
  }
  return sendHook(hooksUrl, secret, {
    id: event.id,
    type: event.type,
    tenantId: event.tenantId,
    payload: event.payload,
  });
}

/**
 * Delivers what is due; answers when to look again (core/time/clock time), or null when nothing is pending.
 */
export async function deliverPending(env: Bindings, tenantId: string): Promise<number | null> {
  const { db, close } = await connectDatabase(env);
  try {
    for (;;) {
      const head = await pendingHead(db, tenantId);
      if (!head) return null;
      const { event } = head;
      if (event.nextAttemptAt.getTime() > now()) return event.nextAttemptAt.getTime();
      // An instance without hooks_url (or one deleted since) has nobody to tell: done, with no attempt.
      if (!head.hooksUrl || !head.signingSecretSealed) {
        await db
          .update(events)
          .set({ status: 'delivered', deliveredAt: sql`now()` })
          .where(eq(events.seq, event.seq));
        continue;
      }
      const error = await attempt(env, head.hooksUrl, head.signingSecretSealed, event);
      const attempts = event.attempts + 1;
      if (error === null) {
        await db
          .update(events)
          .set({ status: 'delivered', attempts, lastError: null, deliveredAt: sql`now()` })
          .where(eq(events.seq, event.seq));
        continue;
      }
      const next = nextHookAttempt(event.createdAt.getTime(), attempts, now(), {
        firstMs: waitMs('hookFirstRetry'),
        maxMs: waitMs('hookMaxRetry'),
      });
      await db
        .update(events)
        .set(
          next === null
            ? { status: 'failed', attempts, lastError: error }
            : { attempts, lastError: error, nextAttemptAt: new Date(next) },
        )
        .where(eq(events.seq, event.seq));
      // Failed for good: the tenant's next event may go now.
      if (next !== null) return next;
    }
  } finally {
    await close();
  }
}
