import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, test } from 'vitest';

// DESIGN.md's Control API table as built by the control module (`/v1/events` and `/v1/config` are
// another module's, checked there).
const CONTROL_ROUTES = [
  'get /v1/health',
  'post /v1/instances',
  'get /v1/instances',
  'get /v1/instances/{name}',
  'patch /v1/instances/{name}',
  'delete /v1/instances/{name}',
  'post /v1/instances/{name}/rotate-secret',
  'post /v1/tenants',
  'get /v1/tenants',
  'get /v1/tenants/{tenant}',
  'patch /v1/tenants/{tenant}',
  'put /v1/tenants/{tenant}',
  'delete /v1/tenants/{tenant}',
  'post /v1/tenants/{tenant}/domains',
  'get /v1/tenants/{tenant}/domains',
  'delete /v1/tenants/{tenant}/domains/{hostname}',
  'post /v1/tenants/{tenant}/keys',
  'get /v1/tenants/{tenant}/keys',
  'get /v1/tenants/{tenant}/keys/{id}',
  'delete /v1/tenants/{tenant}/keys/{id}',
  'post /v1/tenants/{tenant}/keys/{id}/rotate',
  'post /v1/keys',
  'get /v1/keys',
  'delete /v1/keys/{id}',
  'get /v1/tenants/{tenant}/usage',
  'get /v1/tenants/{tenant}/keys/{id}/usage',
  'get /v1/audit',
  'post /v1/tenants/{tenant}/install-token',
  'post /v1/tenants/{tenant}/recovery',
];

type Operation = {
  security?: unknown[];
  responses: Record<string, unknown>;
  parameters?: { name: string }[];
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

// src/app.ts runs in Node (nothing it imports at runtime needs `cloudflare:*`), but its types are Workers
// types, which this Node tsconfig does not load: import it by a specifier the type checker does not follow.
const APP_MODULE = '../../src/app';
type App = { fetch(request: Request, env: object, ctx: object): Promise<Response> };

async function fetchDocument(): Promise<Document> {
  const { createApp } = (await import(/* @vite-ignore */ APP_MODULE)) as { createApp: () => App };
  const res = await createApp().fetch(
    new Request('http://control.localhost/openapi.json'),
    { CONTROL_HOST: 'control.localhost', BASE_DOMAINS: 'localhost' },
    { waitUntil: () => {}, passThroughOnException: () => {}, props: {} },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Document;
}

describe('GET /openapi.json', () => {
  test('is a valid OpenAPI 3.1 document', async () => {
    const doc = await fetchDocument();
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  test('lists every route of the control table, each with its error responses', async () => {
    const doc = await fetchDocument();
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    for (const route of CONTROL_ROUTES) expect(listed).toContain(route);
    for (const route of CONTROL_ROUTES.filter((r) => r !== 'get /v1/health')) {
      const [method, path] = route.split(' ');
      const op = doc.paths[path][method];
      expect(op.security, route).toEqual([{ bearer: [] }, { apiKey: [] }]);
      for (const status of ['401', '403', '422', '503'])
        expect(Object.keys(op.responses), route).toContain(status);
      for (const name of path.match(/\{(\w+)\}/g) ?? []) {
        expect(
          op.parameters?.map((p) => p.name),
          route,
        ).toContain(name.slice(1, -1));
      }
    }
  });
});
