import { expect, test } from 'vitest';
import { api } from './control-client';
import { gatewayFetch } from './helpers';

test('GET /docs renders the OpenAPI document as self-contained HTML', async () => {
  const res = await gatewayFetch('http://control.localhost/docs');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/html');
  const html = await res.text();
  expect(html).toContain('<h1>Tenant gateway control API</h1>');
  for (const path of [
    '/v1/tenants/{tenant}/keys/{id}/rotate',
    '/v1/instances/{name}',
    '/v1/audit',
    '/v1/keys/{id}',
  ]) {
    expect(html).toContain(`<code>${path}</code>`);
  }
  expect(html).toContain('id="schema-Tenant"');
  // Nothing loaded from elsewhere: no scripts, external styles, fonts or images.
  expect(html).not.toMatch(/<script|<link|@import|@font-face|<img|src=/i);
  expect(html).not.toMatch(/https?:\/\//);
});

test('GET /openapi.json is the OpenAPI 3.1 document', async () => {
  const res = await api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json', {
    key: null,
  });
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.1.0');
  expect(Object.keys(res.body.paths)).toContain('/v1/tenants/{tenant}/usage');
});
