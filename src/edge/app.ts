// The tenant hosts' app, for every host but the control host: `/_gateway/*` is the gateway's own pages
// (install, tenant console), every other path the data plane, forwarded to the tenant's instance.
import { Hono } from 'hono';
import { matchTenantHost } from '../core/http/host';
import { renderError } from '../errors';
import { frontDoor } from '../front-door';
import { configuredBaseDomains } from './base-domains';
import { confirmFreshness } from './freshness';
import { handleTenantRequest } from './handle';
import type { PageEnv } from './pages/env';
import { createGatewayPages } from './pages/pages';
import { resolveTenantFromHost } from './resolve';
import { propagateChanges } from './tenant-changed';

function isGatewayPath(pathname: string): boolean {
  return pathname === '/_gateway' || pathname.startsWith('/_gateway/');
}

export function createTenantHostApp() {
  const app = new Hono<PageEnv>();
  app.use(frontDoor);
  app.use(async (c, next) => {
    const match = matchTenantHost(c.get('host'), configuredBaseDomains(c.env).byLength);
    await confirmFreshness(c.env, c.executionCtx);
    const resolved = await resolveTenantFromHost(c.env, c.executionCtx, match);
    const url = c.get('url');
    // The gateway's own path space on every tenant host, whatever the tenant's status: never forwarded.
    // Decided on the raw path, as the upstream would see it, not on the router's decoded one.
    if (!isGatewayPath(url.pathname)) return handleTenantRequest(c, { url, resolved });
    c.set('tenant', resolved.snapshot.record);
    await next();
  });
  // After the data plane, which writes nothing: only the pages' answers wait for the ChangeFeed.
  app.use(propagateChanges());
  app.route('/', createGatewayPages());
  app.onError(renderError);
  return app;
}
