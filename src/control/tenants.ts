import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt, ilike, or, type SQL } from 'drizzle-orm';
import type { Context } from 'hono';
import { baseDomainsOf } from '../core/http/base-domains';
import { checkSlug, slugify } from '../core/tenancy/slug';
import { tenants } from '../db/schema';
import { selectTenantViews } from '../db/tenants';
import type { AppEnv } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { useDatabase } from '../request-database';
import type { HeaderChange } from '../tenancy/injected-headers';
import { TenantStatusSchema, Timestamp } from '../tenancy/shared-schemas';
import { invalid, loadTenantView } from '../tenancy/tenant-placement';
import {
  CreateTenant,
  type InjectHeadersEdits,
  ReplaceTenant,
  TenantSchema,
  toTenantJson,
  UpdateTenant,
  withTenantDefaults,
} from '../tenancy/tenant-schemas';
import { installUrl, tenantHostsOf } from '../tenancy/tenant-urls';
import { changeTenant, createTenant, deleteTenant, reissueInstallToken } from '../tenancy/tenants';
import { authenticate, operatorOnly, tenantFor } from './auth';
import { decodeCursor, toPage } from './cursor';
import { checkCustomDomains } from './custom-domain';
import { normalisedUpstreams } from './instance-input';
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

type Fields = z.infer<typeof UpdateTenant>;

/** `domains` and the `domain` shorthand together, canonical; 422 for any that cannot be a custom domain. */
export function requestedDomains(
  c: Context<AppEnv>,
  body: Pick<Fields, 'domains' | 'domain'>,
): string[] | undefined {
  if (body.domains === undefined && body.domain === undefined) return undefined;
  const many = checkCustomDomains(body.domains ?? [], 'domains', c.env);
  const one = checkCustomDomains(body.domain === undefined ? [] : [body.domain], 'domain', c.env);
  const details = [...many.details, ...one.details.map((d) => ({ ...d, path: 'domain' }))];
  if (details.length > 0) throw invalid(details);
  return [...new Set([...many.hostnames, ...one.hostnames])];
}

/** A body's own `upstream` with its URLs normalised, or 422 naming each bad one; null and undefined kept. */
export function requestedUpstream<U extends { upstreams: string[] } | null | undefined>(
  c: Context<AppEnv>,
  upstream: U,
): U {
  if (!upstream) return upstream;
  const details: ErrorDetail[] = [];
  const upstreams = normalisedUpstreams(c, upstream.upstreams, 'upstream.upstreams', details);
  if (details.length > 0) throw invalid(details);
  return { ...upstream, upstreams };
}

/** A body's `inject_headers` as the tenant write takes them: sealed with this gateway's SEALING_KEY. */
export function headerChange(
  c: Context<AppEnv>,
  edits: InjectHeadersEdits | undefined,
  replace: boolean,
): HeaderChange | undefined {
  return edits && { edits, replace, sealingKey: c.env.SEALING_KEY ?? '' };
}

const TenantResponse = z.object({ tenant: TenantSchema }).openapi('TenantResponse');
const operator = [authenticate, operatorOnly];

const createTenantRoute = createRoute({
  method: 'post',
  path: '/v1/tenants',
  operationId: 'createTenant',
  tags: ['tenants'],
  summary: 'Create a tenant (status pending)',
  description:
    'Answers the one-time `install_token` and the `install_url` where the tenant installs itself. ' +
    'Without `instance`, placed on the instance with the largest share of free capacity (ties by name). ' +
    '`409 slug_conflict` when the slug is taken, `409 instance_full` when no instance (or the one named) takes ' +
    'another tenant, `422 slug_reserved` for reserved slugs and labels of base domains.',
  security,
  middleware: [authenticate, operatorOnly, jsonOnly],
  request: { body: jsonBody(CreateTenant) },
  responses: {
    201: json(
      z
        .object({
          tenant: TenantSchema,
          install_token: z.string().openapi({ description: 'Shown once; single use; expires after 7 days' }),
          install_url: z.string().nullable(),
        })
        .openapi('TenantCreated'),
      'Created',
    ),
    ...errorResponses(400, 409, ...BODY_ERRORS),
  },
});

const listTenantsRoute = createRoute({
  method: 'get',
  path: '/v1/tenants',
  operationId: 'listTenants',
  tags: ['tenants'],
  summary: 'List tenants (by slug)',
  security,
  middleware: operator,
  request: {
    query: PageQuery.extend({
      status: TenantStatusSchema.optional(),
      q: paramText(200).optional().openapi({ description: 'Part of the name or slug, any case' }),
    }),
  },
  responses: { 200: json(page(TenantSchema, 'TenantPage'), 'Tenants'), ...errorResponses() },
});

const getTenantRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}',
  operationId: 'getTenant',
  tags: ['tenants'],
  summary: 'Get a tenant by id or slug',
  security,
  middleware: [authenticate],
  request: { params: TenantParam },
  responses: { 200: json(TenantResponse, 'The tenant'), ...errorResponses(404) },
});

const replaceTenantRoute = createRoute({
  method: 'put',
  path: '/v1/tenants/{tenant}',
  operationId: 'replaceTenant',
  tags: ['tenants'],
  summary: 'Replace every mutable field of a tenant',
  description: 'Optional fields left out return to their defaults; `status` is left as it is when omitted.',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(ReplaceTenant) },
  responses: { 200: json(TenantResponse, 'The tenant'), ...errorResponses(400, 404, 409, ...BODY_ERRORS) },
});

const updateTenantRoute = createRoute({
  method: 'patch',
  path: '/v1/tenants/{tenant}',
  operationId: 'updateTenant',
  tags: ['tenants'],
  summary: 'Change some fields of a tenant (status too)',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(UpdateTenant) },
  responses: { 200: json(TenantResponse, 'The tenant'), ...errorResponses(400, 404, 409, ...BODY_ERRORS) },
});

const deleteTenantRoute = createRoute({
  method: 'delete',
  path: '/v1/tenants/{tenant}',
  operationId: 'deleteTenant',
  tags: ['tenants'],
  summary: 'Delete a tenant',
  description: 'Its keys, domains and placements go with it. `public` cannot be deleted.',
  security,
  // Not operatorOnly: a tenant key naming another tenant must get 404 here too (tenantFor answers it).
  middleware: [authenticate],
  request: { params: TenantParam },
  responses: { 204: noContent('Deleted'), ...errorResponses(404, 409) },
});

const installTokenRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/install-token',
  operationId: 'createInstallToken',
  tags: ['tenants'],
  summary: 'A new install token for a pending tenant',
  description: 'Any earlier token stops working. `409 conflict` once the tenant is installed.',
  security,
  middleware: [authenticate],
  request: { params: TenantParam },
  responses: {
    201: json(
      z
        .object({ install_token: z.string(), install_url: z.string().nullable(), expires_at: Timestamp })
        .openapi('InstallToken'),
      'Created; the token is shown once',
    ),
    ...errorResponses(404, 409),
  },
});

export function registerTenants(app: OpenAPIHono<AppEnv>) {
  app.openapi(createTenantRoute, async (c) => {
    const body = c.req.valid('json');
    const slug = slugify(body.slug ?? body.name);
    const problem = checkSlug(slug, baseDomainsOf(c.env.BASE_DOMAINS).labels);
    if (problem)
      throw new ApiError(problem.code, problem.message, [{ path: 'slug', message: problem.message }]);
    const domains = requestedDomains(c, body) ?? [];
    const { view, token } = await createTenant(await writer(c), {
      ...body,
      slug,
      domains,
      upstream: requestedUpstream(c, body.upstream),
      headers: headerChange(c, body.inject_headers, true),
    });
    if (!token) throw new Error('a pending tenant has an install token');
    const hosts = tenantHostsOf(c.env);
    return c.json(
      { tenant: toTenantJson(view, hosts), install_token: token.token, install_url: installUrl(view, hosts) },
      201,
    );
  });

  app.openapi(listTenantsRoute, async (c) => {
    const { limit, cursor, status, q } = c.req.valid('query');
    const conditions: (SQL | undefined)[] = [];
    const after = decodeCursor(cursor);
    if (after !== undefined) conditions.push(gt(tenants.slug, after));
    if (status) conditions.push(eq(tenants.status, status));
    if (q) {
      const pattern = `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      conditions.push(or(ilike(tenants.name, pattern), ilike(tenants.slug, pattern)));
    }
    const db = await useDatabase(c);
    const hosts = tenantHostsOf(c.env);
    const rows = await selectTenantViews(db)
      .where(and(...conditions))
      .orderBy(asc(tenants.slug))
      .limit(limit + 1);
    const answer = (row: (typeof rows)[number]) => toTenantJson(row, hosts);
    return c.json(
      toPage(rows, limit, (row) => row.tenant.slug, answer),
      200,
    );
  });

  app.openapi(getTenantRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const view = await loadTenantView(await useDatabase(c), tenant.id);
    return c.json({ tenant: toTenantJson(view, tenantHostsOf(c.env)) }, 200);
  });

  app.openapi(replaceTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const body = c.req.valid('json');
    const domains = requestedDomains(c, body) ?? [];
    const defaults = withTenantDefaults(body);
    const fields = {
      ...defaults,
      instances: body.instances ?? [],
      upstream: requestedUpstream(c, defaults.upstream),
    };
    const headers = headerChange(c, body.inject_headers ?? {}, true);
    const change = { fields, domains, headers, action: 'replace' as const };
    const view = await changeTenant(await writer(c), current.id, change);
    return c.json({ tenant: toTenantJson(view, tenantHostsOf(c.env)) }, 200);
  });

  app.openapi(updateTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const body = c.req.valid('json');
    const change = {
      fields: { ...body, upstream: requestedUpstream(c, body.upstream) },
      domains: requestedDomains(c, body),
      headers: headerChange(c, body.inject_headers, false),
      action: 'update' as const,
    };
    const view = await changeTenant(await writer(c), current.id, change);
    return c.json({ tenant: toTenantJson(view, tenantHostsOf(c.env)) }, 200);
  });

  app.openapi(deleteTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    await deleteTenant(await writer(c), current.id);
    return c.body(null, 204);
  });

  app.openapi(installTokenRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const { token, view } = await reissueInstallToken(await writer(c), current.id);
    return c.json(
      {
        install_token: token.token,
        install_url: installUrl(view, tenantHostsOf(c.env)),
        expires_at: token.expiresAt.toISOString(),
      },
      201,
    );
  });
}
