// The worker's two apps, picked by host alone: the control host's (the control API), and every other
// host's, the tenants' (the data plane and the /_gateway pages). Each app does its own front-door work.
import type { Hono } from 'hono';
import { createControlApp } from './control/app';
import { normalizeHost } from './core/http/host';
import { createTenantHostApp } from './edge';
import type { AppEnv, Bindings } from './env';

/** Hono's own signature: tests hand in bindings of their own. */
type Fetch = Hono<AppEnv>['fetch'];

// The control host as configured, normalised once per isolate and per value.
let controlSource: string | undefined;
let controlHost: string | undefined;

/**
 * Whether the request is for the control host, cheaply: the URL's host lower-cased, without port or
 * trailing dot, against the configured one. The chosen app's front door then validates and normalises the
 * host once (a host that only looks like the control host is refused there, not routed elsewhere).
 */
function isControlHost(request: Request, env: Partial<Bindings>): boolean {
  if (env.CONTROL_HOST !== controlSource) {
    controlSource = env.CONTROL_HOST;
    controlHost = normalizeHost(env.CONTROL_HOST) ?? env.CONTROL_HOST;
  }
  const url = request.url;
  const start = url.indexOf('//') + 2;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  let host = url.slice(start, end).toLowerCase();
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !host.endsWith(']')) host = host.slice(0, colon);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === controlHost;
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
