import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Context } from 'hono';
import { isOperatorScope, isTenantScope, isValidScope } from '../core/tenancy/scopes';
import { now as clockNow } from '../core/time/clock';
import { apiKeys, type RateLimit } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { actorOf } from '../tenancy/actor';
import { KeySchema, toKeyJson } from '../tenancy/key-schemas';
import { createKey, revokeTenantKey, rotateTenantKey } from '../tenancy/keys';
import { RateLimitSchema } from '../tenancy/shared-schemas';
import { authenticate, checkGrantable, notFound, tenantFor } from './auth';
import { decodeCursor, toPage } from './cursor';
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

/** An operator key's scopes: `admin` or `*` (everything), `read` (every GET); tenant scopes are not theirs. */
export const operatorScopes = z
  .array(
    z
      .string()
      .refine(isOperatorScope, 'operator keys hold only admin, read or *; tenant scopes go on tenant keys'),
  )
  .min(1)
  .max(50);

export const keyFields = {
  name: z.string().trim().min(1).max(200).openapi({ example: 'ci deploys' }),
  // A tenant key's scopes: operator scopes (`admin`, `read`) exist only on operator keys.
  scopes: z
    .array(
      z
        .string()
        .refine(isValidScope, 'not a valid scope')
        .refine(isTenantScope, 'an operator scope: only operator keys (/v1/keys) hold it'),
    )
    .min(1)
    .max(50)
    .openapi({ example: ['proxy:read', 'proxy:write'] }),
  expires_at: z.iso
    .datetime({ offset: true })
    .nullable()
    .optional()
    .openapi({ description: 'When it stops working; null = never' }),
};

const CreateKey = z
  .strictObject({
    ...keyFields,
    rate_limit: RateLimitSchema.nullable()
      .optional()
      .openapi({ description: "Applies on top of the tenant's; never above it" }),
  })
  .openapi('KeyCreate');

export const KeyWithSecret = z
  .object({ key: KeySchema, secret: z.string().openapi({ description: 'Shown only in this answer' }) })
  .openapi('KeyWithSecret');

/** An expiry in the future, or 422. */
export function futureExpiry(expiresAt: string | null | undefined): Date | null {
  if (!expiresAt) return null;
  const date = new Date(expiresAt);
  if (date.getTime() <= clockNow()) {
    throw new ApiError('validation_failed', 'The request is not valid', [
      { path: 'expires_at', message: 'expires_at must be in the future' },
    ]);
  }
  return date;
}

/** A key's own limit may only narrow the tenant's. */
export function checkKeyLimit(key: RateLimit | null | undefined, tenant: RateLimit | null) {
  if (!key || !tenant) return;
  const details = (['requests_per_minute', 'requests_per_day'] as const)
    .filter(
      (field) =>
        tenant[field] !== null && key[field] !== null && (key[field] as number) > (tenant[field] as number),
    )
    .map((field) => ({
      path: `rate_limit.${field}`,
      message: `must not exceed the tenant's ${tenant[field]}`,
    }));
  if (details.length > 0) throw new ApiError('validation_failed', 'The request is not valid', details);
}

const KeyParam = TenantParam.extend({
  id: paramText(64, 1).openapi({ param: { name: 'id', in: 'path' }, example: 'key_3kVb9QmL1xZ7pR2sT8wY' }),
});

const createKeyRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/keys',
  operationId: 'createKey',
  tags: ['keys'],
  summary: 'Create a tenant key',
  description: 'The secret is shown only in this answer. A tenant key may only grant scopes it holds.',
  security,
  middleware: [authenticate, jsonOnly],
  request: { params: TenantParam, body: jsonBody(CreateKey) },
  responses: { 201: json(KeyWithSecret, 'Created'), ...errorResponses(400, 404, ...BODY_ERRORS) },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/keys',
  operationId: 'listKeys',
  tags: ['keys'],
  summary: "List a tenant's keys (revoked ones too)",
  security,
  middleware: [authenticate],
  request: { params: TenantParam, query: PageQuery },
  responses: { 200: json(page(KeySchema, 'KeyPage'), 'Keys'), ...errorResponses(404) },
});

const KeyResponse = z.object({ key: KeySchema }).openapi('KeyResponse');

const getKeyRoute = createRoute({
  method: 'get',
  path: '/v1/tenants/{tenant}/keys/{id}',
  operationId: 'getKey',
  tags: ['keys'],
  summary: 'Get a tenant key',
  security,
  middleware: [authenticate],
  request: { params: KeyParam },
  responses: { 200: json(KeyResponse, 'The key'), ...errorResponses(404) },
});

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/v1/tenants/{tenant}/keys/{id}',
  operationId: 'revokeKey',
  tags: ['keys'],
  summary: 'Revoke a tenant key',
  description: 'It stops working at once. The key stays listed, with `revoked_at`.',
  security,
  middleware: [authenticate],
  request: { params: KeyParam },
  responses: { 204: noContent('Revoked'), ...errorResponses(404) },
});

const rotateKeyRoute = createRoute({
  method: 'post',
  path: '/v1/tenants/{tenant}/keys/{id}/rotate',
  operationId: 'rotateKey',
  tags: ['keys'],
  summary: 'Rotate a tenant key',
  description: 'Same key id, scopes and limits, a new secret; the old secret stops working at once.',
  security,
  middleware: [authenticate],
  request: { params: KeyParam },
  responses: { 200: json(KeyWithSecret, 'Rotated'), ...errorResponses(404, 409) },
});

async function keyOf(c: Context<AppEnv>, tenantId: string, id: string) {
  const db = await useDatabase(c);
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.tenantId, tenantId)));
  if (!key) throw notFound('key');
  return key;
}

export function registerKeys(app: OpenAPIHono<AppEnv>) {
  app.openapi(createKeyRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const body = c.req.valid('json');
    checkGrantable(actorOf(c), body.scopes);
    checkKeyLimit(body.rate_limit, tenant.rateLimit);
    const expiresAt = futureExpiry(body.expires_at);
    const created = await createKey(await writer(c), {
      tenantId: tenant.id,
      name: body.name,
      scopes: body.scopes,
      expiresAt,
      rateLimit: body.rate_limit ?? null,
    });
    return c.json({ key: toKeyJson(created.key), secret: created.secret }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    const tenant = await tenantFor(c, c.req.valid('param').tenant, { tenantAdmin: true });
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const db = await useDatabase(c);
    const rows = await db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.tenantId, tenant.id), after === undefined ? undefined : gt(apiKeys.id, after)))
      .orderBy(asc(apiKeys.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.id, toKeyJson),
      200,
    );
  });

  app.openapi(getKeyRoute, async (c) => {
    const params = c.req.valid('param');
    const tenant = await tenantFor(c, params.tenant, { tenantAdmin: true });
    return c.json({ key: toKeyJson(await keyOf(c, tenant.id, params.id)) }, 200);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const params = c.req.valid('param');
    const tenant = await tenantFor(c, params.tenant, { tenantAdmin: true });
    const before = await keyOf(c, tenant.id, params.id);
    // Revoking twice is not an error; the first revocation time stays.
    if (before.revokedAt) return c.body(null, 204);
    await revokeTenantKey(await writer(c), tenant.id, before);
    return c.body(null, 204);
  });

  app.openapi(rotateKeyRoute, async (c) => {
    const params = c.req.valid('param');
    const tenant = await tenantFor(c, params.tenant, { tenantAdmin: true });
    const before = await keyOf(c, tenant.id, params.id);
    // The new secret carries the key's scopes, so a tenant key may only rotate keys it could have made.
    checkGrantable(actorOf(c), before.scopes);
    if (before.revokedAt) throw new ApiError('conflict', 'A revoked key cannot be rotated');
    const { after, secret } = await rotateTenantKey(await writer(c), tenant.id, before);
    return c.json({ key: toKeyJson(after), secret }, 200);
  });
}
