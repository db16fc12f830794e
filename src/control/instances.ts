import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { asc, eq, gt } from 'drizzle-orm';
import type { Context } from 'hono';
import { newId } from '../core/crypto/ids';
import { seal } from '../core/crypto/seal';
import { generateSecret } from '../core/crypto/secrets';
import { checkUpstreamUrl } from '../core/http/upstream-url';
import { isDnsLabel } from '../core/tenancy/slug';
import { isForeignKeyViolation, uniqueViolation } from '../db/conflict';
import type { Queryable } from '../db/queryable';
import { auditLog, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { tenantChanged } from '../edge';
import type { AppEnv } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { useDatabase } from '../request-database';
import { auditRow } from '../tenancy/audit';
import { Timestamp } from '../tenancy/shared-schemas';
import { authenticate, notFound, operatorOnly } from './auth';
import { decodeCursor, toPage } from './cursor';
import { jsonOnly } from './json-body';
import { errorResponses, json, jsonBody, PageQuery, page, security } from './openapi';

export const DEFAULT_TIMEOUT_MS = 30_000;

const InstanceSchema = z
  .object({
    id: z.string().openapi({ example: 'ins_4Xb0PqL2mZ8rT1vW9yKc' }),
    name: z.string().openapi({ example: 'instance1' }),
    upstreams: z.array(z.string()),
    timeout_ms: z.number().int(),
    hooks_url: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Instance');

type InstanceJson = z.infer<typeof InstanceSchema>;

export function toInstanceJson(row: typeof instances.$inferSelect): InstanceJson {
  return {
    id: row.id,
    name: row.name,
    upstreams: row.upstreams,
    timeout_ms: row.timeoutMs,
    hooks_url: row.hooksUrl,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const InstanceWithSecret = z
  .object({ instance: InstanceSchema, signing_secret: z.string() })
  .openapi('InstanceWithSecret');

const Upstreams = z
  .array(z.string().max(2048))
  .min(1)
  .max(16)
  .openapi({
    description: 'Absolute http(s) URLs, tried in order; no credentials, query or fragment',
    example: ['https://backend1.internal.example.com'],
  });
const TimeoutMs = z.number().int().min(100).max(300_000).openapi({ description: 'Default 30000' });
const HooksUrl = z
  .string()
  .max(2048)
  .nullable()
  .openapi({ description: 'Where lifecycle events are POSTed; same rules as upstreams' });

export const CreateInstance = z
  .strictObject({
    name: z
      .string()
      .refine(isDnsLabel, 'name must be a DNS label: a-z, 0-9 and inner -, at most 63 characters')
      .openapi({ example: 'instance1' }),
    upstreams: Upstreams,
    timeout_ms: TimeoutMs.optional(),
    hooks_url: HooksUrl.optional(),
  })
  .openapi('InstanceCreate');

const UpdateInstance = z
  .strictObject({
    upstreams: Upstreams.optional(),
    timeout_ms: TimeoutMs.optional(),
    hooks_url: HooksUrl.optional(),
  })
  .openapi('InstanceUpdate');

const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(63)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'instance1' }),
});

/** Upstream and hooks URLs in their normalised form, or 422 naming each bad entry. */
export function checkUrls(
  c: Context<AppEnv>,
  body: { upstreams?: string[]; hooks_url?: string | null },
): { upstreams?: string[]; hooksUrl?: string | null } {
  const allowPrivate = c.env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  const details: ErrorDetail[] = [];
  const upstreams = body.upstreams?.map((raw, i) => {
    const check = checkUpstreamUrl(raw, { allowPrivate });
    if (!check.ok) details.push({ path: `upstreams.${i}`, message: check.message });
    return check.ok ? check.url : raw;
  });
  let hooksUrl = body.hooks_url;
  if (hooksUrl) {
    const check = checkUpstreamUrl(hooksUrl, { allowPrivate });
    if (check.ok) hooksUrl = check.url;
    else details.push({ path: 'hooks_url', message: check.message });
  }
  if (details.length > 0) throw new ApiError('validation_failed', 'The request is not valid', details);
  return { upstreams, hooksUrl };
}

function nameTaken(err: unknown): never {
  if (uniqueViolation(err) !== null) throw new ApiError('conflict', 'An instance with this name exists');
  throw err;
}

const auth = [authenticate, operatorOnly];
const withBody = [authenticate, operatorOnly, jsonOnly];

const createInstanceRoute = createRoute({
  method: 'post',
  path: '/v1/instances',
  tags: ['instances'],
  summary: 'Create an instance',
  description: 'The `signing_secret` is generated here and shown only in this answer.',
  security,
  middleware: withBody,
  request: { body: jsonBody(CreateInstance) },
  responses: {
    201: json(InstanceWithSecret, 'Created; `signing_secret` is shown once'),
    ...errorResponses(400, 409, 415),
  },
});

const listInstancesRoute = createRoute({
  method: 'get',
  path: '/v1/instances',
  tags: ['instances'],
  summary: 'List instances (by name)',
  security,
  middleware: auth,
  request: { query: PageQuery },
  responses: { 200: json(page(InstanceSchema, 'InstancePage'), 'Instances'), ...errorResponses() },
});

const InstanceResponse = z.object({ instance: InstanceSchema }).openapi('InstanceResponse');

const getInstanceRoute = createRoute({
  method: 'get',
  path: '/v1/instances/{name}',
  tags: ['instances'],
  summary: 'Get an instance',
  security,
  middleware: auth,
  request: { params: NameParam },
  responses: { 200: json(InstanceResponse, 'The instance'), ...errorResponses(404) },
});

const updateInstanceRoute = createRoute({
  method: 'patch',
  path: '/v1/instances/{name}',
  tags: ['instances'],
  summary: 'Change an instance',
  description: 'Fields given replace the current ones. Every tenant placed on the instance sees it at once.',
  security,
  middleware: withBody,
  request: { params: NameParam, body: jsonBody(UpdateInstance) },
  responses: { 200: json(InstanceResponse, 'The changed instance'), ...errorResponses(400, 404, 415) },
});

const deleteInstanceRoute = createRoute({
  method: 'delete',
  path: '/v1/instances/{name}',
  tags: ['instances'],
  summary: 'Delete an instance',
  description: '`409 instance_in_use` while any tenant is placed on it.',
  security,
  middleware: auth,
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(404, 409) },
});

const rotateSecretRoute = createRoute({
  method: 'post',
  path: '/v1/instances/{name}/rotate-secret',
  tags: ['instances'],
  summary: "Rotate an instance's signing secret",
  description:
    'A new `signing_secret`, shown only in this answer; forwarded requests are signed with it from the next ' +
    'request on. Also the way back after changing SEALING_KEY.',
  security,
  middleware: auth,
  request: { params: NameParam },
  responses: {
    200: json(InstanceWithSecret, 'Rotated; `signing_secret` is shown once'),
    ...errorResponses(404),
  },
});

export function registerInstances(app: OpenAPIHono<AppEnv>) {
  app.openapi(createInstanceRoute, async (c) => {
    const body = c.req.valid('json');
    const urls = checkUrls(c, body);
    const signingSecret = generateSecret('whsec_', 40);
    const db = await useDatabase(c);
    const row = await db
      .transaction(async (tx) => {
        const [created] = await tx
          .insert(instances)
          .values({
            id: newId('ins'),
            name: body.name,
            upstreams: urls.upstreams ?? [],
            timeoutMs: body.timeout_ms ?? DEFAULT_TIMEOUT_MS,
            hooksUrl: urls.hooksUrl ?? null,
            signingSecretSealed: await seal(signingSecret, c.env.SEALING_KEY ?? ''),
          })
          .returning();
        await tx.insert(auditLog).values(
          auditRow(c, {
            tenantId: null,
            resource: 'instance',
            resourceId: created.id,
            action: 'create',
            after: toInstanceJson(created),
          }),
        );
        return created;
      })
      .catch(nameTaken);
    return c.json({ instance: toInstanceJson(row), signing_secret: signingSecret }, 201);
  });

  app.openapi(listInstancesRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const db = await useDatabase(c);
    const rows = await db
      .select()
      .from(instances)
      .where(after === undefined ? undefined : gt(instances.name, after))
      .orderBy(asc(instances.name))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.name, toInstanceJson),
      200,
    );
  });

  app.openapi(getInstanceRoute, async (c) => {
    const db = await useDatabase(c);
    const [row] = await db
      .select()
      .from(instances)
      .where(eq(instances.name, c.req.valid('param').name));
    if (!row) throw notFound('instance');
    return c.json({ instance: toInstanceJson(row) }, 200);
  });

  app.openapi(updateInstanceRoute, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const urls = checkUrls(c, body);
    const db = await useDatabase(c);
    const { row, tenantIds } = await db.transaction(async (tx) => {
      const [before] = await tx.select().from(instances).where(eq(instances.name, name)).for('update');
      if (!before) throw notFound('instance');
      const [after] = await tx
        .update(instances)
        .set({
          upstreams: urls.upstreams,
          timeoutMs: body.timeout_ms,
          hooksUrl: urls.hooksUrl,
          updatedAt: new Date(),
        })
        .where(eq(instances.id, before.id))
        .returning();
      const ids = await placedTenants(tx, before.id);
      await bumpTenantVersions(tx, ids);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: null,
          resource: 'instance',
          resourceId: before.id,
          action: 'update',
          before: toInstanceJson(before),
          after: toInstanceJson(after),
        }),
      );
      return { row: after, tenantIds: ids };
    });
    for (const id of tenantIds) tenantChanged(c, id);
    return c.json({ instance: toInstanceJson(row) }, 200);
  });

  app.openapi(rotateSecretRoute, async (c) => {
    const { name } = c.req.valid('param');
    const signingSecret = generateSecret('whsec_', 40);
    const sealed = await seal(signingSecret, c.env.SEALING_KEY ?? '');
    const db = await useDatabase(c);
    const { row, tenantIds } = await db.transaction(async (tx) => {
      const [rotated] = await tx
        .update(instances)
        .set({ signingSecretSealed: sealed, updatedAt: new Date() })
        .where(eq(instances.name, name))
        .returning();
      if (!rotated) throw notFound('instance');
      const ids = await placedTenants(tx, rotated.id);
      await bumpTenantVersions(tx, ids);
      await tx.insert(auditLog).values(
        auditRow(c, {
          tenantId: null,
          resource: 'instance',
          resourceId: rotated.id,
          action: 'rotate',
          after: toInstanceJson(rotated),
        }),
      );
      return { row: rotated, tenantIds: ids };
    });
    for (const id of tenantIds) tenantChanged(c, id);
    return c.json({ instance: toInstanceJson(row), signing_secret: signingSecret }, 200);
  });

  app.openapi(deleteInstanceRoute, async (c) => {
    const { name } = c.req.valid('param');
    const db = await useDatabase(c);
    await db
      .transaction(async (tx) => {
        const [before] = await tx.select().from(instances).where(eq(instances.name, name)).for('update');
        if (!before) throw notFound('instance');
        const [placed] = await tx
          .select({ id: tenants.id })
          .from(tenantInstances)
          .innerJoin(tenants, eq(tenants.id, tenantInstances.tenantId))
          .where(eq(tenantInstances.instanceId, before.id))
          .limit(1);
        if (placed) throw instanceInUse();
        await tx.delete(instances).where(eq(instances.id, before.id));
        await tx.insert(auditLog).values(
          auditRow(c, {
            tenantId: null,
            resource: 'instance',
            resourceId: before.id,
            action: 'delete',
            before: toInstanceJson(before),
          }),
        );
      })
      .catch((err: unknown) => {
        // A tenant placed on it between the check and the delete.
        if (isForeignKeyViolation(err)) throw instanceInUse();
        throw err;
      });
    return c.body(null, 204);
  });
}

async function placedTenants(db: Queryable, instanceId: string): Promise<string[]> {
  const placed = await db
    .select({ id: tenantInstances.tenantId })
    .from(tenantInstances)
    .where(eq(tenantInstances.instanceId, instanceId));
  return placed.map((p) => p.id);
}

export function instanceInUse() {
  return new ApiError('instance_in_use', 'Tenants are placed on this instance; move them first');
}
