import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt, ilike, inArray, notInArray, or, type SQL, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { newId } from '../core/crypto/ids';
import { normalizeHost } from '../core/http/host';
import { checkSlug, schemaNameFor, slugify } from '../core/tenancy/slug';
import { isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import { writeTenantEvent } from '../db/events';
import { issueInstallToken } from '../db/install-tokens';
import type { Queryable } from '../db/queryable';
import { auditLog, domains, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions, selectTenantViews } from '../db/tenants';
import { tenantChanged } from '../edge';
import type { AppEnv, Bindings } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { useDatabase } from '../request-database';
import { auditRow } from '../tenancy/audit';
import { Timestamp } from '../tenancy/shared-schemas';
import {
  CreateTenant,
  DEFAULT_AUTH,
  DEFAULT_LIMITS,
  ReplaceTenant,
  TenantSchema,
  toTenantJson,
  UpdateTenant,
} from '../tenancy/tenant-schemas';
import { authenticate, notFound, operatorOnly, type TenantRow, tenantFor } from './auth';
import { decodeCursor, toPage } from './cursor';
import { checkCustomDomains } from './custom-domain';
import { jsonOnly } from './json-body';
import { errorResponses, json, jsonBody, PageQuery, page, security, TenantParam } from './openapi';

type Fields = z.infer<typeof UpdateTenant>;

function invalid(details: ErrorDetail[]): ApiError {
  return new ApiError('validation_failed', 'The request is not valid', details);
}

export function conflicts(err: unknown): never {
  const constraint = uniqueViolation(err);
  if (constraint === 'tenants_slug_unique' || constraint === 'tenants_schemaName_unique') {
    throw new ApiError('slug_conflict', 'A tenant with this slug exists');
  }
  if (constraint === 'domains_pkey') throw new ApiError('conflict', 'A domain is already in use');
  if (constraint !== null) throw new ApiError('conflict', 'This conflicts with an existing resource');
  // An instance named in the request was deleted meanwhile.
  if (isForeignKeyViolation(err)) throw new ApiError('conflict', 'An instance changed meanwhile; try again');
  throw err;
}

/** The first base domain as configured (parseBaseDomains reorders by length). */
function firstBaseDomain(env: Bindings): string | null {
  for (const entry of (env.BASE_DOMAINS ?? '').split(',')) {
    const host = normalizeHost(entry.trim());
    if (host) return host;
  }
  return null;
}

/**
 * Where a pending tenant installs itself: always on its gateway host `{slug}.{instance}.{base}`, which works
 * as soon as the wildcard DNS does (a custom domain may not point here yet).
 */
export function installUrl(env: Bindings, slug: string, instance: string | null): string | null {
  const base = firstBaseDomain(env);
  if (!base) return null;
  return `https://${instance ? `${slug}.${instance}.${base}` : `${slug}.${base}`}/_gateway/install`;
}

export async function loadTenantView(db: Queryable, tenantId: string) {
  const [view] = await selectTenantViews(db).where(eq(tenants.id, tenantId));
  if (!view) throw notFound('tenant');
  return view;
}

/** Instance ids for a home name and placement names; 422 naming each unknown one. */
export async function resolvePlacements(db: Queryable, home: string, names: string[]) {
  const wanted = [...new Set([home, ...names])];
  const rows = await db
    .select({ id: instances.id, name: instances.name })
    .from(instances)
    .where(inArray(instances.name, wanted));
  const ids = new Map(rows.map((r) => [r.name, r.id]));
  const details: ErrorDetail[] = [];
  if (!ids.has(home)) details.push({ path: 'instance', message: `no instance named ${home}` });
  names.forEach((name, i) => {
    if (!ids.has(name)) details.push({ path: `instances.${i}`, message: `no instance named ${name}` });
  });
  if (details.length > 0) throw invalid(details);
  return { homeId: ids.get(home) as string, ids: [...ids.values()] };
}

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

/** Makes the tenant's domains exactly `hostnames`; existing ones keep the instance they name. */
export async function replaceDomains(db: Queryable, tenantId: string, hostnames: string[]) {
  await db
    .delete(domains)
    .where(
      hostnames.length > 0
        ? and(eq(domains.tenantId, tenantId), notInArray(domains.hostname, hostnames))
        : eq(domains.tenantId, tenantId),
    );
  const kept = await db
    .select({ hostname: domains.hostname })
    .from(domains)
    .where(eq(domains.tenantId, tenantId));
  const have = new Set(kept.map((d) => d.hostname));
  const added = hostnames.filter((h) => !have.has(h));
  if (added.length > 0) await db.insert(domains).values(added.map((hostname) => ({ hostname, tenantId })));
}

/** Makes the placements exactly `instanceIds`; 409 if a domain still names an instance being removed. */
export async function replacePlacements(db: Queryable, tenantId: string, instanceIds: string[]) {
  const [pinned] = await db
    .select({ hostname: domains.hostname })
    .from(domains)
    .where(and(eq(domains.tenantId, tenantId), notInArray(domains.instanceId, instanceIds)));
  if (pinned) {
    throw new ApiError('conflict', `Domain ${pinned.hostname} is served from an instance being removed`);
  }
  await db
    .delete(tenantInstances)
    .where(and(eq(tenantInstances.tenantId, tenantId), notInArray(tenantInstances.instanceId, instanceIds)));
  await db
    .insert(tenantInstances)
    .values(instanceIds.map((instanceId) => ({ tenantId, instanceId })))
    .onConflictDoNothing();
}

const TenantResponse = z.object({ tenant: TenantSchema }).openapi('TenantResponse');
const operator = [authenticate, operatorOnly];

const createTenantRoute = createRoute({
  method: 'post',
  path: '/v1/tenants',
  tags: ['tenants'],
  summary: 'Create a tenant (status pending)',
  description:
    'Answers the one-time `install_token` and the `install_url` where the tenant installs itself. ' +
    '`409 slug_conflict` when the slug is taken, `422 slug_reserved` for reserved slugs.',
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
    ...errorResponses(400, 409, 415),
  },
});

const listTenantsRoute = createRoute({
  method: 'get',
  path: '/v1/tenants',
  tags: ['tenants'],
  summary: 'List tenants (by slug)',
  security,
  middleware: operator,
  request: {
    query: PageQuery.extend({
      status: z.enum(['pending', 'active', 'suspended']).optional(),
      q: z.string().max(200).optional().openapi({ description: 'Part of the name or slug, any case' }),
    }),
  },
  responses: { 200: json(page(TenantSchema, 'TenantPage'), 'Tenants'), ...errorResponses() },
});

const getTenantRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}',
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
  tags: ['tenants'],
  summary: 'Replace every mutable field of a tenant',
  description: 'Optional fields left out return to their defaults; `status` is left as it is when omitted.',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(ReplaceTenant) },
  responses: { 200: json(TenantResponse, 'The tenant'), ...errorResponses(400, 404, 409, 415) },
});

const updateTenantRoute = createRoute({
  method: 'patch',
  path: '/v1/tenants/{tenant}',
  tags: ['tenants'],
  summary: 'Change some fields of a tenant (status too)',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(UpdateTenant) },
  responses: { 200: json(TenantResponse, 'The tenant'), ...errorResponses(400, 404, 409, 415) },
});

const deleteTenantRoute = createRoute({
  method: 'delete',
  path: '/v1/tenants/{tenant}',
  tags: ['tenants'],
  summary: 'Delete a tenant',
  description: 'Its keys, domains and placements go with it. `public` cannot be deleted.',
  security,
  // Not operatorOnly: a tenant key naming another tenant must get 404 here too (tenantFor answers it).
  middleware: [authenticate],
  request: { params: TenantParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(404, 409) },
});

const installTokenRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/install-token',
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

/** Writes a PUT or PATCH: `fields` are the new values, `domainList` the new domains if they change. */
async function changeTenant(
  c: Context<AppEnv>,
  current: TenantRow,
  fields: Fields,
  domainList: string[] | undefined,
  action: 'update' | 'replace',
) {
  const db = await useDatabase(c);
  return db
    .transaction(async (tx) => {
      // Concurrent changes to one tenant queue here rather than interleave their placement and domain writes.
      await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, current.id)).for('update');
      const before = await loadTenantView(tx, current.id);
      // Domains first: a PUT may drop a domain together with the placement it was pinned to.
      if (domainList !== undefined) await replaceDomains(tx, current.id, domainList);
      const home = fields.instance ?? before.instance;
      let homeId = before.tenant.homeInstanceId;
      if (fields.instance !== undefined || fields.instances !== undefined) {
        if (home === null) throw invalid([{ path: 'instance', message: 'a home instance is required' }]);
        const placements = await resolvePlacements(tx, home, fields.instances ?? before.instances);
        homeId = placements.homeId;
        await replacePlacements(tx, current.id, placements.ids);
      }
      const [row] = await tx
        .update(tenants)
        .set({
          name: fields.name,
          status: fields.status,
          homeInstanceId: homeId,
          rateLimit: fields.rate_limit,
          auth: fields.auth,
          routes: fields.routes,
          limits: fields.limits,
          settings: fields.settings,
          version: sql`${tenants.version} + 1`,
          updatedAt: new Date(),
        })
        .where(eq(tenants.id, current.id))
        .returning();
      const suspended = row.status === 'suspended' && before.tenant.status !== 'suspended';
      await writeTenantEvent(tx, suspended ? 'tenant.suspended' : 'tenant.updated', row);
      const after = await loadTenantView(tx, current.id);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: current.id,
          resource: 'tenant',
          resourceId: current.id,
          action,
          before: toTenantJson(before),
          after: toTenantJson(after),
        }),
      );
      return after;
    })
    .catch(conflicts);
}

export function registerTenants(app: OpenAPIHono<AppEnv>) {
  app.openapi(createTenantRoute, async (c) => {
    const body = c.req.valid('json');
    const slug = slugify(body.slug ?? body.name);
    const problem = checkSlug(slug);
    if (problem)
      throw new ApiError(problem.code, problem.message, [{ path: 'slug', message: problem.message }]);
    const domainList = requestedDomains(c, body) ?? [];
    const db = await useDatabase(c);
    const created = await db
      .transaction(async (tx) => {
        const placements = await resolvePlacements(tx, body.instance, body.instances ?? []);
        const [row] = await tx
          .insert(tenants)
          .values({
            id: newId('ten'),
            name: body.name,
            slug,
            schemaName: schemaNameFor(slug),
            status: 'pending',
            homeInstanceId: placements.homeId,
            rateLimit: body.rate_limit ?? null,
            auth: body.auth ?? DEFAULT_AUTH,
            routes: body.routes ?? [],
            limits: body.limits ?? DEFAULT_LIMITS,
            settings: body.settings ?? {},
          })
          .returning();
        await tx
          .insert(tenantInstances)
          .values(placements.ids.map((instanceId) => ({ tenantId: row.id, instanceId })));
        await replaceDomains(tx, row.id, domainList);
        const token = await issueInstallToken(tx, row.id);
        await writeTenantEvent(tx, 'tenant.created', row);
        const view = await loadTenantView(tx, row.id);
        await tx.insert(auditLog).values(
          auditRow(c, {
            tenantId: row.id,
            resource: 'tenant',
            resourceId: row.id,
            action: 'create',
            after: toTenantJson(view),
          }),
        );
        return { view, token };
      })
      .catch(conflicts);
    tenantChanged(c, created.view.tenant.id);
    return c.json(
      {
        tenant: toTenantJson(created.view),
        install_token: created.token.token,
        install_url: installUrl(c.env, slug, body.instance),
      },
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
    const rows = await selectTenantViews(db)
      .where(and(...conditions))
      .orderBy(asc(tenants.slug))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.tenant.slug, toTenantJson),
      200,
    );
  });

  app.openapi(getTenantRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    return c.json({ tenant: toTenantJson(await loadTenantView(await useDatabase(c), tenant.id)) }, 200);
  });

  app.openapi(replaceTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const body = c.req.valid('json');
    const domainList = requestedDomains(c, body) ?? [];
    const view = await changeTenant(
      c,
      current,
      {
        ...body,
        instances: body.instances ?? [],
        rate_limit: body.rate_limit ?? null,
        auth: body.auth ?? DEFAULT_AUTH,
        routes: body.routes ?? [],
        limits: body.limits ?? DEFAULT_LIMITS,
        settings: body.settings ?? {},
      },
      domainList,
      'replace',
    );
    tenantChanged(c, current.id);
    return c.json({ tenant: toTenantJson(view) }, 200);
  });

  app.openapi(updateTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const body = c.req.valid('json');
    const view = await changeTenant(c, current, body, requestedDomains(c, body), 'update');
    tenantChanged(c, current.id);
    return c.json({ tenant: toTenantJson(view) }, 200);
  });

  app.openapi(deleteTenantRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    if (current.slug === 'public') {
      throw new ApiError('default_tenant_protected', 'The public tenant cannot be deleted');
    }
    const db = await useDatabase(c);
    await db.transaction(async (tx) => {
      const before = await loadTenantView(tx, current.id);
      await tx.delete(tenants).where(eq(tenants.id, current.id));
      await writeTenantEvent(tx, 'tenant.deleted', before.tenant);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: current.id,
          resource: 'tenant',
          resourceId: current.id,
          action: 'delete',
          before: toTenantJson(before),
        }),
      );
    });
    tenantChanged(c, current.id);
    return c.body(null, 204);
  });

  app.openapi(installTokenRoute, async (c) => {
    const current = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: false });
    const db = await useDatabase(c);
    const { token, view } = await db.transaction(async (tx) => {
      const [locked] = await tx.select().from(tenants).where(eq(tenants.id, current.id)).for('update');
      if (!locked) throw notFound('tenant');
      if (locked.status !== 'pending') {
        throw new ApiError('conflict', `Tenant ${locked.slug} is already installed`);
      }
      const issued = await issueInstallToken(tx, current.id);
      await bumpTenantVersions(tx, [current.id]);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: current.id,
          resource: 'install_token',
          resourceId: current.id,
          action: 'create',
          after: { expires_at: issued.expiresAt.toISOString() },
        }),
      );
      return { token: issued, view: await loadTenantView(tx, current.id) };
    });
    tenantChanged(c, current.id);
    return c.json(
      {
        install_token: token.token,
        install_url: installUrl(c.env, view.tenant.slug, view.instance),
        expires_at: token.expiresAt.toISOString(),
      },
      201,
    );
  });
}
