import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { normalizeHost } from '../core/http/host';
import { uniqueViolation } from '../db/conflict';
import { auditLog, domains, instances, tenantInstances } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { tenantChanged } from '../edge';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { auditRow } from '../tenancy/audit';
import { Timestamp } from '../tenancy/shared-schemas';
import { authenticate, notFound, tenantFor } from './auth';
import { decodeCursor, toPage } from './cursor';
import { checkCustomDomain } from './custom-domain';
import { jsonOnly } from './json-body';
import { errorResponses, json, jsonBody, PageQuery, page, security, TenantParam } from './openapi';

const DomainSchema = z
  .object({
    hostname: z.string().openapi({ example: 'api.acme.com' }),
    tenant_id: z.string(),
    instance: z
      .string()
      .nullable()
      .openapi({ description: "Instance it is served from; null = the tenant's home" }),
    created_at: Timestamp,
  })
  .openapi('Domain');

const CreateDomain = z
  .strictObject({
    hostname: z.string().max(300).openapi({ example: 'api.acme.com' }),
    instance: z
      .string()
      .max(63)
      .nullable()
      .optional()
      .openapi({ description: "One of the tenant's instances; default its home" }),
  })
  .openapi('DomainCreate');

const HostnameParam = TenantParam.extend({
  hostname: z
    .string()
    .min(1)
    .max(300)
    .openapi({ param: { name: 'hostname', in: 'path' }, example: 'api.acme.com' }),
});

function selectDomains() {
  return {
    hostname: domains.hostname,
    tenantId: domains.tenantId,
    createdAt: domains.createdAt,
    instance: sql<string | null>`(select i.name from instances i where i.id = domains.instance_id)`,
  };
}

type DomainRow = { hostname: string; tenantId: string; createdAt: Date; instance: string | null };

function toDomainJson(row: DomainRow): z.infer<typeof DomainSchema> {
  return {
    hostname: row.hostname,
    tenant_id: row.tenantId,
    instance: row.instance,
    created_at: row.createdAt.toISOString(),
  };
}

const addDomainRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/domains',
  tags: ['domains'],
  summary: 'Add a custom domain',
  description: 'Unique across tenants (`409 conflict`); never the control host, a base domain or under one.',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(CreateDomain) },
  responses: {
    201: json(z.object({ domain: DomainSchema }).openapi('DomainResponse'), 'Added'),
    ...errorResponses(400, 404, 409, 415),
  },
});

const listDomainsRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/domains',
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
  tags: ['domains'],
  summary: 'Remove a custom domain',
  security,
  middleware: [authenticate],
  request: { params: HostnameParam },
  responses: { 204: { description: 'Removed' }, ...errorResponses(404) },
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
    const db = await useDatabase(c);
    const row = await db
      .transaction(async (tx) => {
        let instanceId: string | null = null;
        if (body.instance) {
          const [placed] = await tx
            .select({ id: instances.id })
            .from(tenantInstances)
            .innerJoin(instances, eq(instances.id, tenantInstances.instanceId))
            .where(and(eq(tenantInstances.tenantId, tenant.id), eq(instances.name, body.instance)));
          if (!placed) {
            throw new ApiError('validation_failed', 'The request is not valid', [
              { path: 'instance', message: `tenant is not placed on an instance named ${body.instance}` },
            ]);
          }
          instanceId = placed.id;
        }
        await tx.insert(domains).values({ hostname: check.hostname, tenantId: tenant.id, instanceId });
        await bumpTenantVersions(tx, [tenant.id]);
        const [added] = await tx
          .select(selectDomains())
          .from(domains)
          .where(eq(domains.hostname, check.hostname));
        await tx.insert(auditLog).values(
          auditRow(c, {
            tenantId: tenant.id,
            resource: 'domain',
            resourceId: added.hostname,
            action: 'create',
            after: toDomainJson(added),
          }),
        );
        return added;
      })
      .catch((err: unknown) => {
        if (uniqueViolation(err) !== null) throw new ApiError('conflict', 'This domain is already in use');
        throw err;
      });
    tenantChanged(c, tenant.id);
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
    const db = await useDatabase(c);
    await db.transaction(async (tx) => {
      const [before] = await tx
        .select(selectDomains())
        .from(domains)
        .where(and(eq(domains.hostname, hostname), eq(domains.tenantId, tenant.id)));
      if (!before) throw notFound('domain');
      await tx.delete(domains).where(eq(domains.hostname, hostname));
      await bumpTenantVersions(tx, [tenant.id]);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: tenant.id,
          resource: 'domain',
          resourceId: hostname,
          action: 'delete',
          before: toDomainJson(before),
        }),
      );
    });
    tenantChanged(c, tenant.id);
    return c.body(null, 204);
  });
}
