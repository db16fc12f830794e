import { and, eq, lt, sql } from 'drizzle-orm';
import { connectDatabase } from '../db/client';
import { events } from '../db/schema';
import type { Bindings } from '../env';
import { kickHookDeliverer } from './kick';

// A deliverer that is on time has moved its head event on by then; one this late lost its kick.
const OVERDUE = sql`now() - interval '1 minute'`;

/**
 * On the cron trigger: kicks the deliverer of every tenant whose head event is overdue, for the rare kick
 * lost between a commit and the Durable Object (the worker stopped, the object was unreachable).
 */
export async function sweepHooks(env: Bindings, ctx: { waitUntil(promise: Promise<unknown>): void }) {
  const { db, close } = await connectDatabase(env);
  try {
    const overdue = await db
      .selectDistinct({ tenantId: events.tenantId })
      .from(events)
      .where(and(eq(events.status, 'pending'), lt(events.nextAttemptAt, OVERDUE)))
      .limit(1000);
    for (const { tenantId } of overdue) kickHookDeliverer(env, ctx, tenantId);
  } finally {
    await close();
  }
}
