import { createApp } from './app';
import { configureClock } from './core/time/clock';
import { connectDatabase } from './db/client';
import { pruneUsageFlushes } from './db/usage';
import { pruneUsageBatches } from './db/usage-batches';
import type { Bindings } from './env';
import { sweepHooks } from './hooks/sweep';
import { consumeQueue } from './usage/consumer';

export { TenantGate } from './gate/tenant-gate';
export { HookDeliverer } from './hooks/hook-deliverer';

const app = createApp();

async function pruneUsageIds(env: Env) {
  const { db, close } = await connectDatabase(env);
  try {
    await pruneUsageFlushes(db);
    await pruneUsageBatches(db);
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
  // Every 5 minutes: lost hook kicks re-kicked, and usage flush and batch ids past any retry forgotten.
  scheduled: (_controller, env, ctx) => {
    configureClock(env);
    ctx.waitUntil(Promise.all([sweepHooks(env, ctx), pruneUsageIds(env)]));
  },
} satisfies ExportedHandler<Bindings>;
