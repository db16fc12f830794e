import { env } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import { api, errorCode, newKey, newTenant } from './control-client';
import { unique } from './helpers';

test('no key → 401 missing_api_key with WWW-Authenticate: Bearer and no-store', async () => {
  const res = await api('GET', '/v1/tenants', { key: null });
  expect(res.status).toBe(401);
  expect(errorCode(res)).toBe('missing_api_key');
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  expect(res.headers.get('cache-control')).toBe('no-store');
});

test('an unknown key, or the admin key with one character changed → 401 invalid_api_key', async () => {
  const changed = env.ADMIN_API_KEY.slice(0, -1) + (env.ADMIN_API_KEY.endsWith('a') ? 'b' : 'a');
  for (const key of ['gw_nosuchkey000000000000000000000000000000', changed, `${env.ADMIN_API_KEY}x`]) {
    const res = await api('GET', '/v1/tenants', { key });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('invalid_api_key');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  }
});

test('the admin key works as Bearer and as X-API-Key', async () => {
  expect((await api('GET', '/v1/instances')).status).toBe(200);
  const viaHeader = await api('GET', '/v1/instances', {
    key: null,
    headers: { 'x-api-key': env.ADMIN_API_KEY },
  });
  expect(viaHeader.status).toBe(200);
});

test('an operator key with read but not admin or * reads everything and changes nothing (403)', async () => {
  const created = await api<{ secret: string }>('POST', '/v1/keys', {
    body: { name: 'ro', scopes: ['read'] },
  });
  expect(created.status).toBe(201);
  const { tenant } = await newTenant();
  for (const path of ['/v1/instances', '/v1/tenants', `/v1/tenants/${tenant.id}`, '/v1/audit']) {
    const res = await api('GET', path, { key: created.body.secret });
    expect(res.status, path).toBe(200);
  }
  for (const [method, path, body] of [
    ['POST', '/v1/instances', { name: 'never', upstreams: ['http://a.test'] }],
    ['PATCH', `/v1/tenants/${tenant.id}`, { name: 'Never' }],
    ['DELETE', `/v1/tenants/${tenant.id}`, undefined],
    ['POST', '/v1/keys', { name: 'escalate', scopes: ['admin'] }],
  ] as const) {
    const res = await api(method, path, { key: created.body.secret, body });
    expect(res.status, `${method} ${path}`).toBe(403);
    expect(errorCode(res)).toBe('insufficient_scope');
  }
  expect((await api<{ tenant: { name: string } }>('GET', `/v1/tenants/${tenant.id}`)).body.tenant.name).toBe(
    tenant.name,
  );
});

test('a tenant key without tenant:admin → 403 insufficient_scope, even on its own tenant', async () => {
  const { tenant } = await newTenant();
  const { secret } = await newKey(tenant.id, ['proxy:read', 'proxy:write']);
  const res = await api('GET', `/v1/tenants/${tenant.id}`, { key: secret });
  expect(res.status).toBe(403);
  expect(errorCode(res)).toBe('insufficient_scope');
});

test('a tenant:admin key reads its own tenant but gets 403 on operator-only routes and tenant writes', async () => {
  const { tenant } = await newTenant();
  const { secret } = await newKey(tenant.id, ['tenant:admin']);
  const own = await api<{ tenant: { id: string } }>('GET', `/v1/tenants/${tenant.slug}`, { key: secret });
  expect(own.status).toBe(200);
  expect(own.body.tenant.id).toBe(tenant.id);
  const forbidden: [string, string, unknown?][] = [
    ['GET', '/v1/instances'],
    ['POST', '/v1/instances', { name: unique('i'), upstreams: [env.TEST_UPSTREAM_URL] }],
    ['GET', `/v1/instances/${tenant.instance}`],
    ['PATCH', `/v1/instances/${tenant.instance}`, { timeout_ms: 1000 }],
    ['DELETE', `/v1/instances/${tenant.instance}`],
    ['GET', '/v1/tenants'],
    ['POST', '/v1/tenants', { name: unique('x'), instance: tenant.instance }],
    ['PATCH', `/v1/tenants/${tenant.id}`, { status: 'active' }],
    ['PUT', `/v1/tenants/${tenant.id}`, { name: 'x', instance: tenant.instance }],
    ['DELETE', `/v1/tenants/${tenant.id}`],
    ['POST', `/v1/tenants/${tenant.id}/install-token`],
    ['GET', '/v1/keys'],
    ['POST', '/v1/keys', { name: 'x', scopes: ['admin'] }],
    ['DELETE', '/v1/keys/key_whatever'],
    ['GET', '/v1/audit'],
  ];
  for (const [method, path, body] of forbidden) {
    const res = await api(method, path, { key: secret, body });
    expect(res.status, `${method} ${path}`).toBe(403);
    expect(errorCode(res)).toBe('insufficient_scope');
  }
  const after = await api<{ tenant: { status: string } }>('GET', `/v1/tenants/${tenant.id}`);
  expect(after.body.tenant.status).toBe('pending');
});

test('a tenant:admin key of a deleted tenant no longer works', async () => {
  const { tenant } = await newTenant();
  const { secret } = await newKey(tenant.id, ['tenant:admin']);
  await api('DELETE', `/v1/tenants/${tenant.id}`);
  const res = await api('GET', `/v1/tenants/${tenant.id}`, { key: secret });
  expect(res.status).toBe(401);
});

test('/openapi.json and /docs need no key; /v1/health neither', async () => {
  expect((await api('GET', '/openapi.json', { key: null })).status).toBe(200);
  expect((await api('GET', '/v1/health', { key: null })).status).toBe(200);
});

test('every control route answers 401 missing_api_key without a key, and invalid_api_key with a wrong one', async () => {
  const routes: [string, string][] = [
    ['POST', '/v1/instances'],
    ['GET', '/v1/instances'],
    ['GET', '/v1/instances/instance1'],
    ['PATCH', '/v1/instances/instance1'],
    ['DELETE', '/v1/instances/instance1'],
    ['POST', '/v1/instances/instance1/rotate-secret'],
    ['POST', '/v1/tenants'],
    ['GET', '/v1/tenants'],
    ['GET', '/v1/tenants/public'],
    ['PATCH', '/v1/tenants/public'],
    ['PUT', '/v1/tenants/public'],
    ['DELETE', '/v1/tenants/public'],
    ['POST', '/v1/tenants/public/install-token'],
    ['POST', '/v1/tenants/public/recovery'],
    ['POST', '/v1/tenants/public/domains'],
    ['GET', '/v1/tenants/public/domains'],
    ['DELETE', '/v1/tenants/public/domains/a.example.com'],
    ['POST', '/v1/tenants/public/keys'],
    ['GET', '/v1/tenants/public/keys'],
    ['GET', '/v1/tenants/public/keys/key_x'],
    ['DELETE', '/v1/tenants/public/keys/key_x'],
    ['POST', '/v1/tenants/public/keys/key_x/rotate'],
    ['POST', '/v1/keys'],
    ['GET', '/v1/keys'],
    ['DELETE', '/v1/keys/key_x'],
    ['GET', '/v1/tenants/public/usage'],
    ['GET', '/v1/audit'],
  ];
  for (const [method, path] of routes) {
    const body = method === 'GET' ? undefined : {};
    const missing = await api(method, path, { key: null, body });
    expect(missing.status, `${method} ${path}`).toBe(401);
    expect(errorCode(missing)).toBe('missing_api_key');
    const wrong = await api(method, path, { key: 'gw_wrong', body });
    expect(wrong.status, `${method} ${path}`).toBe(401);
    expect(errorCode(wrong)).toBe('invalid_api_key');
  }
});
