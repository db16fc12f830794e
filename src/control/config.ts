// PUT /v1/config (apply a file of instances and tenants, JSON or YAML) and GET /v1/config (export).
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkInput, parseJsonText } from '../core/http/input';
import type { AppEnv } from '../env';
import { ApiError, validationDetails } from '../errors';
import { useDatabase } from '../request-database';
import { authenticate, operatorOnly } from './auth';
import { applyConfig } from './config-apply';
import { refuseUnresolvedEnv } from './config-check';
import { exportConfig } from './config-export';
import { ConfigFile, ConfigResult } from './config-schema';
import { BODY_ERRORS, errorResponses, json, REQUEST_ID_HEADER, security } from './openapi';

const MAX_CONFIG_BYTES = 5 * 1024 * 1024;
const YAML_MEDIA_TYPE = /^(application|text)\/(x-)?yaml$/i;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

const ApplyQuery = z.object({
  dry_run: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: '`true`: answer the changes, write nothing' }),
  prune: z.enum(['true', 'false']).optional().openapi({
    description: '`true`: also delete the instances, tenants and declared-tenant keys the file omits',
  }),
});

const fileContent = {
  'application/json': { schema: ConfigFile },
  'application/yaml': { schema: ConfigFile },
};

const applyRoute = createRoute({
  method: 'put',
  path: '/v1/config',
  operationId: 'applyConfig',
  tags: ['config'],
  summary: 'Apply a configuration file (instances and tenants)',
  description:
    'In one transaction; idempotent. Objects are matched by instance name, tenant slug and key name; omitted ' +
    'optional fields return to their defaults. Secrets made here (new instances, keys, install tokens) are in ' +
    'this answer only. Injected header values are literal strings, or `{set: true}` to keep the stored one; ' +
    '`{from_env: NAME}` is for `npm run config:apply` to resolve, and refused here. Body JSON, or YAML with ' +
    '`Content-Type: application/yaml`.',
  security,
  request: { query: ApplyQuery, body: { required: true, content: fileContent } },
  responses: {
    200: json(ConfigResult, 'What changed (or would change)'),
    ...errorResponses(400, 409, ...BODY_ERRORS),
  },
});

const exportRoute = createRoute({
  method: 'get',
  path: '/v1/config',
  operationId: 'exportConfig',
  tags: ['config'],
  summary: 'Export instances and tenants as a configuration file',
  description:
    'JSON, or YAML with `Accept: application/yaml`. Applying it back changes nothing. No secrets: injected ' +
    'header values are shown as `{set: true}`, which an apply reads as "keep the stored value".',
  security,
  responses: {
    200: { description: 'The configuration', headers: REQUEST_ID_HEADER, content: fileContent },
    ...errorResponses(),
  },
});

function readFile(contentType: string | undefined, text: string): unknown {
  const mediaType = (contentType ?? '').split(';')[0].trim();
  if (YAML_MEDIA_TYPE.test(mediaType)) {
    try {
      return parseYaml(text);
    } catch (err) {
      const where = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      throw new ApiError(
        'bad_request',
        `The body is not valid YAML${where ? ` (line ${where.line}, column ${where.col})` : ''}`,
      );
    }
  }
  if (JSON_MEDIA_TYPE.test(mediaType)) return parseJsonText(text);
  throw new ApiError(
    'unsupported_media_type',
    'Send the file as JSON (application/json) or YAML (application/yaml)',
  );
}

export function registerConfig(app: OpenAPIHono<AppEnv>) {
  // Registered for the document only: the body is JSON or YAML, so it is read and validated here.
  app.openAPIRegistry.registerPath(applyRoute);
  app.put('/v1/config', authenticate, operatorOnly, async (c) => {
    const query = ApplyQuery.safeParse(c.req.query());
    if (!query.success) {
      throw new ApiError(
        'validation_failed',
        'The request is not valid',
        validationDetails(query.error.issues),
      );
    }
    if (Number(c.req.header('content-length') ?? 0) > MAX_CONFIG_BYTES) {
      throw new ApiError('payload_too_large', 'A configuration file is at most 5 MiB');
    }
    // Decoded by hand: workerd warns when .text() reads a body typed application/yaml.
    const text = new TextDecoder().decode(await c.req.arrayBuffer());
    if (text.length > MAX_CONFIG_BYTES)
      throw new ApiError('payload_too_large', 'A configuration file is at most 5 MiB');
    const file = readFile(c.req.header('content-type'), text);
    checkInput(file);
    refuseUnresolvedEnv(file);
    const parsed = ConfigFile.safeParse(file);
    if (!parsed.success) {
      throw new ApiError(
        'validation_failed',
        'The configuration is not valid',
        validationDetails(parsed.error.issues),
      );
    }
    const dryRun = query.data.dry_run === 'true';
    const changes = await applyConfig(c, parsed.data, { dryRun, prune: query.data.prune === 'true' });
    const summary = { create: 0, update: 0, delete: 0, unchanged: 0 };
    for (const change of changes) summary[change.action]++;
    return c.json({ dry_run: dryRun, changes, summary } satisfies z.infer<typeof ConfigResult>, 200);
  });

  app.openAPIRegistry.registerPath(exportRoute);
  app.get('/v1/config', authenticate, operatorOnly, async (c) => {
    const file = await exportConfig(await useDatabase(c));
    if (YAML_MEDIA_TYPE.test((c.req.header('accept') ?? '').split(/[;,]/)[0].trim())) {
      c.header('content-type', 'application/yaml; charset=utf-8');
      return c.body(stringifyYaml(file));
    }
    return c.json(file, 200);
  });
}
