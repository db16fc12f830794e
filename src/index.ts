import { createApp } from './app';
import { configureClock } from './core/time/clock';
import { connectDatabase } from './db/client';
import { pruneUsageFlushes } from './db/usage';
import type { Bindings } from './env';
import { sweepHooks } from './hooks/sweep';

export { ChangeFeed } from './gate/change-feed';
export { TenantGate } from './gate/tenant-gate';
export { HookDeliverer } from './hooks/hook-deliverer';

const app = createApp();

async function pruneFlushIds(env: Env) {
  const { db, close } = await connectDatabase(env);
  try {
    await pruneUsageFlushes(db);
  } finally {
    await close();
  }
}

export default {
  fetch: (request, env, ctx) => {
    configureClock(env);
    return app.fetch(request, env, ctx);
  },
  // Every 5 minutes: lost hook kicks re-kicked, and usage flush ids past any retry forgotten.
  scheduled: (_controller, env, ctx) => {
    configureClock(env);
    ctx.waitUntil(Promise.all([sweepHooks(env, ctx), pruneFlushIds(env)]));
  },
} satisfies ExportedHandler<Bindings>;
