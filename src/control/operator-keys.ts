import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { and, asc, gt, isNull } from 'drizzle-orm';
import { apiKeys } from '../db/schema';
import type { AppEnv } from '../env';
import { useDatabase } from '../request-database';
import { KeySchema, toKeyJson } from '../tenancy/key-schemas';
import { createKey, revokeOperatorKey } from '../tenancy/keys';
import { authenticate, operatorOnly } from './auth';
import { decodeCursor, toPage } from './cursor';
import { jsonOnly } from './json-body';
import { futureExpiry, KeyWithSecret, keyFields, operatorScopes } from './keys';
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
} from './openapi';
import { writer } from './writer';

const CreateOperatorKey = z
  .strictObject({
    ...keyFields,
    scopes: operatorScopes.openapi({
      description: '`admin` or `*` give full control-plane access, `read` every GET; nothing else',
      example: ['admin'],
    }),
  })
  .openapi('OperatorKeyCreate');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/keys',
  operationId: 'createOperatorKey',
  tags: ['operator keys'],
  summary: 'Create an operator key',
  description: 'The secret is shown only in this answer.',
  security,
  middleware: [authenticate, operatorOnly, jsonOnly],
  request: { body: jsonBody(CreateOperatorKey) },
  responses: { 201: json(KeyWithSecret, 'Created'), ...errorResponses(400, ...BODY_ERRORS) },
});

const listRouteDef = createRoute({
  method: 'get',
  path: '/v1/keys',
  operationId: 'listOperatorKeys',
  tags: ['operator keys'],
  summary: 'List operator keys (revoked ones too)',
  security,
  middleware: [authenticate, operatorOnly],
  request: { query: PageQuery },
  responses: { 200: json(page(KeySchema, 'OperatorKeyPage'), 'Operator keys'), ...errorResponses() },
});

const revokeRouteDef = createRoute({
  method: 'delete',
  path: '/v1/keys/{id}',
  operationId: 'revokeOperatorKey',
  tags: ['operator keys'],
  summary: 'Revoke an operator key',
  security,
  middleware: [authenticate, operatorOnly],
  request: {
    params: z.object({
      id: paramText(64, 1).openapi({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: { 204: noContent('Revoked'), ...errorResponses(404) },
});

export function registerOperatorKeys(app: OpenAPIHono<AppEnv>) {
  app.openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json');
    const expiresAt = futureExpiry(body.expires_at);
    const created = await createKey(await writer(c), {
      tenantId: null,
      name: body.name,
      scopes: body.scopes,
      expiresAt,
    });
    return c.json({ key: toKeyJson(created.key), secret: created.secret }, 201);
  });

  app.openapi(listRouteDef, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const db = await useDatabase(c);
    const rows = await db
      .select()
      .from(apiKeys)
      .where(and(isNull(apiKeys.tenantId), after === undefined ? undefined : gt(apiKeys.id, after)))
      .orderBy(asc(apiKeys.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.id, toKeyJson),
      200,
    );
  });

  app.openapi(revokeRouteDef, async (c) => {
    const { id } = c.req.valid('param');
    await revokeOperatorKey(await writer(c), id);
    return c.body(null, 204);
  });
}
