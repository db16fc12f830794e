import { createApp } from './app';
import { configureClock } from './core/time/clock';
import { pruneChanges } from './db/changes';
import { connectDatabase } from './db/client';
import { pruneUsageFlushes } from './db/usage';
import { pruneUsageBatches } from './db/usage-batches';
import type { Bindings } from './env';
import { sweepHooks } from './hooks/sweep';
import { consumeQueue } from './usage/consumer';

export { ChangeFeed } from './gate/change-feed';
export { TenantGate } from './gate/tenant-gate';
export { HookDeliverer } from './hooks/hook-deliverer';

const app = createApp();

async function pruneOldRows(env: Env) {
  const { db, close } = await connectDatabase(env);
  try {
    await pruneUsageFlushes(db);
    await pruneUsageBatches(db);
    await pruneChanges(db);
  } finally {
    await close();
  }
}

export default {
  fetch: (request, env, ctx) => {
    configureClock(env);
    return app.fetch(request, env, ctx);
  },
  // The USAGE queue and its dead-letter queue: every delivery written to Postgres in one transaction.
  queue: (batch, env) => {
    configureClock(env);
    return consumeQueue(batch, env);
  },
  // Every 5 minutes: lost hook kicks re-kicked; usage flush and batch ids past any retry, and `changes` rows
  // older than any feed keeps, forgotten.
  scheduled: (_controller, env, ctx) => {
    configureClock(env);
    ctx.waitUntil(Promise.all([sweepHooks(env, ctx), pruneOldRows(env)]));
  },
} satisfies ExportedHandler<Bindings>;
