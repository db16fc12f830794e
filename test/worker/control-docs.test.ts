import { expect, test } from 'vitest';
import { api } from './control-client';
import { gatewayFetch } from './helpers';

async function docsPage(query = '') {
  const res = await gatewayFetch(`http://control.localhost/docs${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/html');
  return res.text();
}

test('GET /docs renders the OpenAPI document as a self-contained, navigable page', async () => {
  const html = await docsPage();
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
  // Grouped by resource, with a table of contents linking to each group and operation.
  for (const tag of ['tenants', 'instances', 'keys', 'domains', 'usage', 'config', 'health']) {
    expect(html).toContain(`<section class="group" id="tag-${tag}">`);
    expect(html).toContain(`<a href="#tag-${tag}">`);
  }
  expect(html).toContain('<a href="#op-post-v1-tenants">POST /v1/tenants</a>');
  expect(html).toContain('id="op-post-v1-tenants"');
  // The error codes of the one table, each with its status.
  expect(html).toMatch(/<tr><td><code>payload_too_large<\/code><\/td><td>413<\/td>/);
  // Nothing loaded from elsewhere: no external scripts, styles, fonts or images; the one script is inline.
  expect(html).not.toMatch(/<link|@import|@font-face|<img|src=|<iframe/i);
  expect(html).not.toMatch(/(href|action)="https?:\/\//);
  expect(html.match(/<script>/g)).toHaveLength(1);
});

test('every operation has an example curl line built from its schemas', async () => {
  const html = await docsPage();
  const curls = [...html.matchAll(/<pre class="curl">([^<]*)<\/pre>/g)].map((m) =>
    m[1].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))),
  );
  const operations = html.match(/<section class="op"/g) ?? [];
  expect(curls).toHaveLength(operations.length);
  expect(curls).toContain(
    `curl -X POST 'http://control.localhost/v1/tenants' -H "Authorization: Bearer $GATEWAY_KEY" -H 'Content-Type: application/json' -d '{"name":"Acme Inc."}'`,
  );
  expect(curls).toContain(`curl 'http://control.localhost/v1/health'`);
  expect(curls).toContain(
    `curl 'http://control.localhost/v1/tenants/acme' -H "Authorization: Bearer $GATEWAY_KEY"`,
  );
});

test('the filter works without JavaScript: ?q= shows only the operations that match', async () => {
  const html = await docsPage('?q=rotate');
  expect(html).toContain('<code>/v1/tenants/{tenant}/keys/{id}/rotate</code>');
  expect(html).toContain('<code>/v1/instances/{name}/rotate-secret</code>');
  expect(html).not.toContain('<code>/v1/audit</code>');
  expect(html).toContain('value="rotate"');
  const none = await docsPage(`?q=${encodeURIComponent('<b>nothing')}`);
  expect(none).toContain('No operation matches <code>&#60;b&#62;nothing</code>');
});

test("the control host's / is the operator dashboard, whose sign-in page leads to the docs", async () => {
  const res = await gatewayFetch('http://control.localhost/', { redirect: 'manual' });
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe('/dashboard');
  const signIn = await gatewayFetch('http://control.localhost/dashboard', { redirect: 'follow' });
  expect(await signIn.text()).toContain('<a href="/docs">API reference</a>');
});

test('GET /openapi.json is the OpenAPI 3.1 document', async () => {
  const res = await api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json', {
    key: null,
  });
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.1.0');
  expect(Object.keys(res.body.paths)).toContain('/v1/tenants/{tenant}/usage');
});
