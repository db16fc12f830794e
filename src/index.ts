import { createApp } from './app';
import { sweepHooks } from './hooks/sweep';

export { TenantGate } from './gate/tenant-gate';
export { HookDeliverer } from './hooks/hook-deliverer';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(sweepHooks(env, ctx)),
} satisfies ExportedHandler<Env>;
