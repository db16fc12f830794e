import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { asc, eq, gt } from 'drizzle-orm';
import { selectInstanceViews } from '../db/instances';
import { instances } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { DEFAULT_TIMEOUT_MS, InstanceSchema, toInstanceJson } from '../tenancy/instance-schemas';
import {
  createInstance,
  deleteInstance,
  instanceInUse,
  rotateInstanceSecret,
  updateInstance,
} from '../tenancy/instances';
import { authenticate, notFound, operatorOnly } from './auth';
import { decodeCursor, toPage } from './cursor';
import { CreateInstance, capacityOf, checkInstanceName, checkUrls, UpdateInstance } from './instance-input';
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
} from './openapi';
import { writer } from './writer';

export { DEFAULT_TIMEOUT_MS, instanceInUse, toInstanceJson };

const InstanceWithSecret = z
  .object({ instance: InstanceSchema, signing_secret: z.string() })
  .openapi('InstanceWithSecret');

const NameParam = z.object({
  name: paramText(63, 1).openapi({ param: { name: 'name', in: 'path' }, example: 'instance1' }),
});

const auth = [authenticate, operatorOnly];
const withBody = [authenticate, operatorOnly, jsonOnly];

const createInstanceRoute = createRoute({
  method: 'post',
  path: '/v1/instances',
  operationId: 'createInstance',
  tags: ['instances'],
  summary: 'Create an instance',
  description: 'The `signing_secret` is generated here and shown only in this answer.',
  security,
  middleware: withBody,
  request: { body: jsonBody(CreateInstance) },
  responses: {
    201: json(InstanceWithSecret, 'Created; `signing_secret` is shown once'),
    ...errorResponses(400, 409, ...BODY_ERRORS),
  },
});

const listInstancesRoute = createRoute({
  method: 'get',
  path: '/v1/instances',
  operationId: 'listInstances',
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
  operationId: 'getInstance',
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
  operationId: 'updateInstance',
  tags: ['instances'],
  summary: 'Change an instance',
  description:
    'Fields given replace the current ones (`services` as a whole). Every tenant placed on the instance sees ' +
    'it at once. `max_tenants` and `draining` bound new placements only: tenants placed already stay.',
  security,
  middleware: withBody,
  request: { params: NameParam, body: jsonBody(UpdateInstance) },
  responses: {
    200: json(InstanceResponse, 'The changed instance'),
    ...errorResponses(400, 404, ...BODY_ERRORS),
  },
});

const deleteInstanceRoute = createRoute({
  method: 'delete',
  path: '/v1/instances/{name}',
  operationId: 'deleteInstance',
  tags: ['instances'],
  summary: 'Delete an instance',
  description: '`409 instance_in_use` while any tenant is placed on it.',
  security,
  middleware: auth,
  request: { params: NameParam },
  responses: { 204: noContent('Deleted'), ...errorResponses(404, 409) },
});

const rotateSecretRoute = createRoute({
  method: 'post',
  path: '/v1/instances/{name}/rotate-secret',
  operationId: 'rotateInstanceSecret',
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
    const named = checkInstanceName(c, body.name);
    if (named.length > 0) throw new ApiError('validation_failed', 'The request is not valid', named);
    const fields = {
      name: body.name,
      ...checkUrls(c, body),
      ...capacityOf(body),
      timeoutMs: body.timeout_ms,
    };
    const { view, signingSecret } = await createInstance(await writer(c), fields, c.env.SEALING_KEY ?? '');
    return c.json({ instance: toInstanceJson(view), signing_secret: signingSecret }, 201);
  });

  app.openapi(listInstancesRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const db = await useDatabase(c);
    const rows = await selectInstanceViews(db)
      .where(after === undefined ? undefined : gt(instances.name, after))
      .orderBy(asc(instances.name))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (row) => row.instance.name, toInstanceJson),
      200,
    );
  });

  app.openapi(getInstanceRoute, async (c) => {
    const db = await useDatabase(c);
    const [view] = await selectInstanceViews(db).where(eq(instances.name, c.req.valid('param').name));
    if (!view) throw notFound('instance');
    return c.json({ instance: toInstanceJson(view) }, 200);
  });

  app.openapi(updateInstanceRoute, async (c) => {
    const body = c.req.valid('json');
    const fields = { ...checkUrls(c, body), ...capacityOf(body), timeoutMs: body.timeout_ms };
    const view = await updateInstance(await writer(c), c.req.valid('param').name, fields);
    return c.json({ instance: toInstanceJson(view) }, 200);
  });

  app.openapi(rotateSecretRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { view, signingSecret } = await rotateInstanceSecret(
      await writer(c),
      name,
      c.env.SEALING_KEY ?? '',
    );
    return c.json({ instance: toInstanceJson(view), signing_secret: signingSecret }, 200);
  });

  app.openapi(deleteInstanceRoute, async (c) => {
    await deleteInstance(await writer(c), c.req.valid('param').name);
    return c.body(null, 204);
  });
}
