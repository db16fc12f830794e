// `POST /v1/tenants/:tenant/recovery` (DESIGN.md "Control API"): an operator's one-time console sign-in link
// for a tenant's admin, made by tenancy/recovery. The operators' hand-out path for a lost password.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { actorOf } from '../tenancy/actor';
import { issueRecoveryLink, recoveryUrl } from '../tenancy/recovery';
import { Timestamp } from '../tenancy/shared-schemas';
import { tenantHostsOf } from '../tenancy/tenant-urls';
import { authenticate, notFound, tenantFor } from './auth';
import { errorResponses, json, security, TenantParam } from './openapi';
import { writer } from './writer';

const RecoveryLinkSchema = z
  .object({
    recovery_url: z.string().nullable().openapi({
      description:
        'Shown once: opening it signs the admin in to the console; null when no base domain is configured',
      example: 'https://acme.instance1.gw.example.com/_gateway/console/recover?token=gwr_…',
    }),
    expires_at: Timestamp,
  })
  .openapi('RecoveryLink');

const recoveryRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/recovery',
  operationId: 'createRecoveryLink',
  tags: ['tenants'],
  summary: "A one-time console sign-in link for the tenant's admin",
  description:
    'Operators with `admin` only. The link is on the tenant’s console host, works once within 15 minutes ' +
    'and is stored hashed; an earlier unused link stops working. The console then shows which operator ' +
    'key made it and when it was used, and asks for a new password. `409 tenant_not_installed` while the ' +
    'tenant has no admin (pending). Tenant keys get `404`, for their own tenant too.',
  security,
  middleware: [authenticate],
  request: { params: TenantParam },
  responses: {
    201: json(RecoveryLinkSchema, 'Created; the link is shown once'),
    ...errorResponses(404, 409),
  },
});

export function registerRecovery(app: OpenAPIHono<AppEnv>) {
  app.openapi(recoveryRoute, async (c) => {
    // A tenant's own key could otherwise sign in as its admin: the route is not there for tenant keys.
    if (actorOf(c).tenant) throw notFound('tenant');
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const { token, expiresAt, view } = await issueRecoveryLink(await writer(c), tenant.id);
    return c.json(
      {
        recovery_url: recoveryUrl(view, tenantHostsOf(c.env), token),
        expires_at: expiresAt.toISOString(),
      },
      201,
    );
  });
}
