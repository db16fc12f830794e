// `ANY /v1/tenants/:tenant/proxy/*` (DESIGN.md "Control API"): operators reach a tenant's backend as that
// tenant, through the edge's own forwarding (edge/operator-proxy), audited by tenancy. A plain Hono route:
// it takes every method and any body, which the OpenAPI routes' JSON handling would not.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { forwardAsOperator } from '../edge';
import type { AppEnv } from '../env';
import { actorOf } from '../tenancy/actor';
import { recordOperatorAccess } from '../tenancy/operator-access';
import { authenticate, operatorOnly, tenantFor } from './auth';
import { writer } from './writer';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export function registerTenantProxy(app: OpenAPIHono<AppEnv>) {
  app.on(METHODS, '/v1/tenants/:tenant/proxy/*', authenticate, operatorOnly, async (c) => {
    const tenant = await tenantFor(c, c.req.param('tenant'), { tenantAdmin: false });
    // The raw path, as the backend must see it: everything after `/proxy`, and the query.
    const url = new URL(c.req.url);
    const marker = url.pathname.indexOf('/proxy/');
    const pathAndQuery = url.pathname.slice(marker + '/proxy'.length) + url.search;
    await recordOperatorAccess(await writer(c), tenant.id, { method: c.req.method, path: pathAndQuery });
    const actor = actorOf(c);
    return forwardAsOperator(c.env, c.executionCtx, {
      request: c.req.raw,
      tenantSlug: tenant.slug,
      operator: { id: actor.id, scopes: actor.scopes },
      pathAndQuery,
      requestId: c.get('requestId'),
    });
  });
}
