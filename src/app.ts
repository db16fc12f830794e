// The worker's two apps, picked by host alone: the control host's (the control API), and every other
// host's, the tenants' (the data plane and the /_gateway pages). Each app does its own front-door work.
import type { Hono } from 'hono';
import { createControlApp } from './control/app';
import { normalizeHost } from './core/http/host';
import { createTenantHostApp } from './edge';
import type { AppEnv, Bindings } from './env';
import { requestHost } from './front-door';

/** Hono's own signature: tests hand in bindings of their own. */
type Fetch = Hono<AppEnv>['fetch'];

function isControlHost(request: Request, env: Partial<Bindings>): boolean {
  return requestHost(request) === (normalizeHost(env.CONTROL_HOST) ?? env.CONTROL_HOST);
}

export function createApp(): { fetch: Fetch } {
  const control = createControlApp();
  const tenantHost = createTenantHostApp();
  return {
    fetch: (request, env, ctx) => {
      const app = isControlHost(request, (env ?? {}) as Partial<Bindings>) ? control : tenantHost;
      return app.fetch(request, env, ctx);
    },
  };
}
