import { createApp } from './app';

export { TenantGate } from './gate/tenant-gate';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
