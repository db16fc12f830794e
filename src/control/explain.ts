// `GET /v1/tenants/:tenant/explain` (DESIGN.md "Control API"): why a request would be forwarded or refused,
// answered by the data plane's own steps (edge/explain), for operators and the tenant's own admin.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { normalizeHost } from '../core/http/host';
import { apiKeys } from '../db/schema';
import { explainRequest } from '../edge';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { authenticate, notFound, tenantFor } from './auth';
import { errorResponses, json, paramText, security, TenantParam } from './openapi';

const ExplanationSchema = z
  .object({
    tenant_id: z.string(),
    host: z.string(),
    instance: z.string().nullable(),
    service: z
      .string()
      .nullable()
      .openapi({ description: 'The instance’s service the host reaches (`default`, `gui`, …)' }),
    upstream_url: z
      .string()
      .nullable()
      .openapi({ description: 'Where it would be forwarded (first upstream of the service)' }),
    status: z.string().nullable(),
    auth: z
      .object({
        mode: z.string(),
        public_path: z.boolean(),
        key_optional: z.boolean(),
        required_scope: z.string(),
      })
      .nullable(),
    key: z
      .object({
        id: z.string(),
        valid: z.boolean(),
        scopes: z.array(z.string()),
        expires_at: z.string().nullable(),
      })
      .nullable(),
    limits: z.array(
      z.object({
        counter: z.string(),
        kind: z.string(),
        limit: z.number().int(),
        used: z.number().int(),
        reset_seconds: z.number().int(),
      }),
    ),
    decision: z.string().openapi({ description: '`forward`, or the error code the request would get' }),
  })
  .openapi('Explanation');

const explainRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/explain',
  operationId: 'explainRequest',
  tags: ['tenants'],
  summary: 'Why a request would be forwarded or refused',
  description:
    "Decided by the data plane's own steps: host → tenant, instance and service, status, auth mode and public paths, " +
    "the path's required scope, the key's validity and scopes, each limit counter's state at the gate " +
    '(nothing spent), and the decision. Operators, and the tenant’s own `tenant:admin` key.',
  security,
  middleware: [authenticate],
  request: {
    params: TenantParam,
    query: z.object({
      method: z
        .string()
        .regex(/^[A-Za-z]{1,16}$/)
        .default('GET'),
      path: paramText(2048, 1)
        .refine((p) => p.startsWith('/'), 'a path starts with /')
        .default('/'),
      host: paramText(253, 1).optional(),
      key_id: paramText(64, 1).optional(),
    }),
  },
  responses: { 200: json(ExplanationSchema, 'The explanation'), ...errorResponses(404) },
});

export function registerExplain(app: OpenAPIHono<AppEnv>) {
  app.openapi(explainRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const query = c.req.valid('query');
    const host = query.host === undefined ? null : normalizeHost(query.host);
    if (query.host !== undefined && host === null) {
      throw new ApiError('validation_failed', 'The request is not valid', [
        { path: 'host', message: 'not a valid host name' },
      ]);
    }
    if (query.key_id !== undefined) {
      // A key of another tenant is no key of this one (for a tenant key, as if it did not exist).
      const [key] = await (await useDatabase(c))
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, query.key_id), eq(apiKeys.tenantId, tenant.id)));
      if (!key) throw notFound('key');
    }
    const explanation = await explainRequest(c.env, c.executionCtx, {
      tenantId: tenant.id,
      tenantSlug: tenant.slug,
      method: query.method.toUpperCase(),
      path: query.path,
      host,
      keyId: query.key_id ?? null,
    });
    return c.json(explanation, 200);
  });
}
