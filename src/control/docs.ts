// GET /openapi.json (OpenAPI 3.1, generated from the zod schemas the routes validate with), GET /docs (that
// document rendered by the worker, docs-page.ts: nothing loaded from elsewhere), and `/`, which leads there.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { type Document, renderDocs } from './docs-page';
import { registerSharedComponents } from './openapi';

const INFO = {
  title: 'Tenant gateway control API',
  version: '1',
  // The gateway is not published for others to use; Redocly's recommended rules ask that this be said.
  license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
  description:
    'Tenants, instances, custom domains, API keys, usage and audit of the tenant gateway. Authenticate with ' +
    '`Authorization: Bearer <key>` or `X-API-Key: <key>`: the ADMIN_API_KEY or an operator key with `admin` or ' +
    '`*` may do everything, one with `read` every GET; a tenant key with `tenant:admin` manages its own ' +
    "tenant's keys and domains and reads its tenant and usage. Every answer carries `X-Request-Id`. Errors: " +
    '`{"error": {"code", "message", "request_id", "details"?}}`.',
};

export function registerDocs(app: OpenAPIHono<AppEnv>) {
  registerSharedComponents(app.openAPIRegistry);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key as `Authorization: Bearer <key>`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'The same key in the `X-API-Key` header',
  });
  const config = { openapi: '3.1.0', info: INFO, servers: [{ url: '/' }] };
  // Routes do not change after startup, so each isolate builds the document once.
  let document: Document | undefined;
  const build = () => {
    document ??= app.getOpenAPI31Document(config) as Document;
    return document;
  };
  app.get('/openapi.json', (c) => c.json(build()));
  app.get('/docs', (c) => {
    const q = c.req.query('q')?.slice(0, 200);
    return c.html(renderDocs(build(), { origin: new URL(c.req.url).origin, q }));
  });
}
