import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt } from 'drizzle-orm';
import { normalizeHost } from '../core/http/host';
import { isDnsLabel } from '../core/tenancy/slug';
import { domains } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { DomainSchema, selectDomains, toDomainJson } from '../tenancy/domain-schemas';
import { addDomain, removeDomain } from '../tenancy/domains';
import { authenticate, notFound, tenantFor } from './auth';
import { decodeCursor, toPage } from './cursor';
import { checkCustomDomain } from './custom-domain';
import { jsonOnly } from './json-body';
import {
  BODY_ERRORS,
  errorResponses,
  json,
  jsonBody,
  noContent,
  PageQuery,
  page,
  paramText,
  security,
  TenantParam,
} from './openapi';
import { writer } from './writer';

const CreateDomain = z
  .strictObject({
    hostname: z.string().max(300).openapi({ example: 'api.acme.com' }),
    instance: z
      .string()
      .max(63)
      .nullable()
      .optional()
      .openapi({ description: "One of the tenant's instances; default its home" }),
    service: z
      .string()
      .max(63)
      .refine(isDnsLabel, 'a service name is a DNS label: a-z, 0-9 and inner -, at most 63 characters')
      .nullable()
      .optional()
      .openapi({ description: 'One of that instance’s services; default `default` (its own upstreams)' }),
  })
  .openapi('DomainCreate');

const HostnameParam = TenantParam.extend({
  hostname: paramText(300, 1).openapi({ param: { name: 'hostname', in: 'path' }, example: 'api.acme.com' }),
});

const addDomainRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/domains',
  operationId: 'addDomain',
  tags: ['domains'],
  summary: 'Add a custom domain',
  description: 'Unique across tenants (`409 conflict`); never the control host, a base domain or under one.',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(CreateDomain) },
  responses: {
    201: json(z.object({ domain: DomainSchema }).openapi('DomainResponse'), 'Added'),
    ...errorResponses(400, 404, 409, ...BODY_ERRORS),
  },
});

const listDomainsRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/domains',
  operationId: 'listDomains',
  tags: ['domains'],
  summary: "List a tenant's custom domains",
  security,
  middleware: [authenticate],
  request: { params: TenantParam, query: PageQuery },
  responses: { 200: json(page(DomainSchema, 'DomainPage'), 'Domains'), ...errorResponses(404) },
});

const removeDomainRoute = createRoute({
  method: 'delete',
  path: '/v1/tenants/{tenant}/domains/{hostname}',
  operationId: 'removeDomain',
  tags: ['domains'],
  summary: 'Remove a custom domain',
  security,
  middleware: [authenticate],
  request: { params: HostnameParam },
  responses: { 204: noContent('Removed'), ...errorResponses(404) },
});

export function registerDomains(app: OpenAPIHono<AppEnv>) {
  app.openapi(addDomainRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const body = c.req.valid('json');
    const check = checkCustomDomain(body.hostname, c.env);
    if (!check.ok) {
      throw new ApiError('validation_failed', 'The request is not valid', [
        { path: 'hostname', message: check.message },
      ]);
    }
    const row = await addDomain(await writer(c), tenant.id, {
      hostname: check.hostname,
      instance: body.instance,
      service: body.service,
    });
    return c.json({ domain: toDomainJson(row) }, 201);
  });

  app.openapi(listDomainsRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const db = await useDatabase(c);
    const rows = await db
      .select(selectDomains())
      .from(domains)
      .where(
        and(eq(domains.tenantId, tenant.id), after === undefined ? undefined : gt(domains.hostname, after)),
      )
      .orderBy(asc(domains.hostname))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.hostname, toDomainJson),
      200,
    );
  });

  app.openapi(removeDomainRoute, async (c) => {
    const params = c.req.valid('param');
    const tenant = await tenantFor(c, params.tenant, { tenantAdmin: true });
    const hostname = normalizeHost(params.hostname);
    if (!hostname) throw notFound('domain');
    await removeDomain(await writer(c), tenant.id, hostname);
    return c.body(null, 204);
  });
}
