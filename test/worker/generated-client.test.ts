// The generated client (clients/typescript) against the worker: a tenant's whole lifecycle through its typed
// calls. This file is type-checked with the repository's tsconfig (`npm run typecheck`), so every request
// body written here, each one the server accepts, is also one the generated types accept; the
// `@ts-expect-error` lines hold them to refusing what the server refuses.
import { env, exports } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { createGatewayClient, type GatewayClient, type Schemas } from '../../clients/typescript/src';
import { clientIp } from './console-client';
import { gatewayFetch, unique } from './helpers';

function client(apiKey: string | undefined = env.ADMIN_API_KEY): GatewayClient {
  return createGatewayClient({
    baseUrl: 'http://control.localhost',
    apiKey,
    fetch: (request) => exports.default.fetch(request),
  });
}

describe('the generated client', () => {
  test('a tenant lifecycle: bodies that leave defaults out are accepted by the types and the server', async () => {
    const admin = client();
    const name = unique('i');
    const instance = await admin.POST('/v1/instances', {
      body: { name, upstreams: [env.TEST_UPSTREAM_URL] },
    });
    expect(instance.response.status).toBe(201);
    expect(instance.data?.instance.timeout_ms).toBe(30_000);
    expect(instance.response.headers.get('x-request-id')).toBeTruthy();

    // Each nested object gives only some of its fields; the server fills in the rest.
    const body: Schemas['TenantCreate'] = {
      name: unique('Client '),
      instance: name,
      rate_limit: { requests_per_minute: 100 },
      auth: { public_paths: ['/health'] },
      limits: { on_stale: 'refuse' },
      routes: [{ path: '/emails/*', scope: 'send' }],
      settings: { plan: 'pro', nested: { a: [1, 2] } },
    };
    const created = await admin.POST('/v1/tenants', { body });
    expect(created.response.status).toBe(201);
    const tenant = created.data?.tenant;
    if (!tenant || !created.data) throw new Error(`create: ${JSON.stringify(created.error)}`);
    // The answer's form: every defaulted field present.
    expect(tenant.rate_limit).toEqual({ requests_per_minute: 100, requests_per_day: null });
    expect(tenant.auth).toEqual({ mode: 'required', public_paths: ['/health'] });
    expect(tenant.limits).toEqual({ on_gate_error: 'closed', on_stale: 'refuse', mode: 'enforce' });
    expect(tenant.status).toBe('pending');

    const read = await admin.GET('/v1/tenants/{tenant}', { params: { path: { tenant: tenant.slug } } });
    expect(read.data?.tenant.id).toBe(tenant.id);
    const listed = await admin.GET('/v1/tenants', { params: { query: { q: tenant.slug, limit: 5 } } });
    expect(listed.data?.data.map((t) => t.id)).toEqual([tenant.id]);

    const patched = await admin.PATCH('/v1/tenants/{tenant}', {
      params: { path: { tenant: tenant.id } },
      body: { limits: { on_gate_error: 'open' }, status: 'active' },
    });
    expect(patched.data?.tenant.limits).toEqual({
      on_gate_error: 'open',
      on_stale: 'serve',
      mode: 'enforce',
    });

    const domain = await admin.POST('/v1/tenants/{tenant}/domains', {
      params: { path: { tenant: tenant.id } },
      body: { hostname: `${unique('api')}.client.test` },
    });
    expect(domain.response.status).toBe(201);

    const key = await admin.POST('/v1/tenants/{tenant}/keys', {
      params: { path: { tenant: tenant.id } },
      body: { name: 'backend', scopes: ['proxy:read'], rate_limit: { requests_per_day: 50 } },
    });
    expect(key.response.status).toBe(201);
    expect(key.data?.key.rate_limit).toEqual({ requests_per_minute: null, requests_per_day: 50 });
    const keyId = key.data?.key.id ?? '';
    const rotated = await admin.POST('/v1/tenants/{tenant}/keys/{id}/rotate', {
      params: { path: { tenant: tenant.id, id: keyId } },
    });
    expect(rotated.data?.secret).not.toBe(key.data?.secret);
    const usage = await admin.GET('/v1/tenants/{tenant}/keys/{id}/usage', {
      params: { path: { tenant: tenant.id, id: keyId }, query: { from: '2026-01-01', to: '2026-01-02' } },
    });
    expect(usage.data?.days).toHaveLength(2);
    const revoked = await admin.DELETE('/v1/tenants/{tenant}/keys/{id}', {
      params: { path: { tenant: tenant.id, id: keyId } },
    });
    expect(revoked.response.status).toBe(204);

    const audit = await admin.GET('/v1/audit', { params: { query: { tenant: tenant.id } } });
    expect(audit.data?.data.length).toBeGreaterThan(0);

    const deleted = await admin.DELETE('/v1/tenants/{tenant}', { params: { path: { tenant: tenant.id } } });
    expect(deleted.response.status).toBe(204);
    const gone = await admin.GET('/v1/tenants/{tenant}', { params: { path: { tenant: tenant.id } } });
    expect(gone.response.status).toBe(404);
    expect(gone.error?.error.code).toBe('not_found');
    const removed = await admin.DELETE('/v1/instances/{name}', { params: { path: { name } } });
    expect(removed.response.status).toBe(204);
  });

  test('the tenant admin key made at installation gives its own backend a proxy:read key', async () => {
    const admin = client();
    const name = unique('i');
    await admin.POST('/v1/instances', { body: { name, upstreams: [env.TEST_UPSTREAM_URL] } });
    const created = await admin.POST('/v1/tenants', { body: { name: unique('Own '), instance: name } });
    const pending = created.data;
    if (!pending) throw new Error(`create: ${JSON.stringify(created.error)}`);
    const host = `${pending.tenant.slug}.${name}.localhost`;
    const install = await gatewayFetch(`http://${host}/_gateway/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': clientIp() },
      body: JSON.stringify({
        install_token: pending.install_token,
        email: `${unique('admin')}@example.com`,
        password: `pw-${crypto.randomUUID()}`,
      }),
    });
    expect(install.status).toBe(201);
    const { secret } = (await install.json()) as { secret: string };

    const own = client(secret);
    const key = await own.POST('/v1/tenants/{tenant}/keys', {
      params: { path: { tenant: pending.tenant.slug } },
      body: { name: 'backend', scopes: ['proxy:read'] },
    });
    expect(key.response.status).toBe(201);
    expect(key.data?.key).toMatchObject({ tenant_id: pending.tenant.id, scopes: ['proxy:read'] });
    const keys = await own.GET('/v1/tenants/{tenant}/keys', {
      params: { path: { tenant: pending.tenant.id } },
    });
    expect(keys.data?.data.map((k) => k.name).sort()).toEqual(['backend', 'tenant admin']);
    // Operator routes stay closed to it, with the documented code.
    const instances = await own.GET('/v1/instances', {});
    expect(instances.response.status).toBe(403);
    expect(instances.error?.error.code).toBe('insufficient_scope');
  });

  test('a configuration applied and exported through the client; health needs no key', async () => {
    const admin = client();
    const name = unique('i');
    const slug = unique('cfg');
    const file: Schemas['Config'] = {
      instances: [{ name, upstreams: [env.TEST_UPSTREAM_URL] }],
      tenants: [{ name: slug, slug, instance: name, keys: [{ name: 'ci', scopes: ['proxy:read'] }] }],
    };
    const dry = await admin.PUT('/v1/config', { params: { query: { dry_run: 'true' } }, body: file });
    expect(dry.response.status).toBe(200);
    expect(dry.data?.dry_run).toBe(true);
    expect(dry.data?.changes.map((c) => `${c.kind} ${c.action}`)).toEqual([
      'instance create',
      'tenant create',
      'key create',
    ]);
    const applied = await admin.PUT('/v1/config', { body: file });
    expect(applied.data?.summary).toEqual({ create: 3, update: 0, delete: 0, unchanged: 0 });
    expect(applied.data?.changes[2].secret).toMatch(/^gw_/);
    const exported = await admin.GET('/v1/config');
    expect(exported.response.status).toBe(200);
    const mine = exported.data?.tenants?.find((t) => t.slug === slug);
    expect(mine).toMatchObject({ instance: name, status: 'pending' });

    const health = await client(undefined).GET('/v1/health');
    expect(health.data?.status).toBe('ok');
  });

  test('the types refuse what the server refuses', async () => {
    const admin = client();
    const refused = await admin.POST('/v1/tenants', {
      // @ts-expect-error `nmae` is no field of TenantCreate (the schema is closed), and `name` is missing.
      body: { nmae: 'typo', instance: 'x' },
    });
    expect(refused.response.status).toBe(422);
    expect(refused.error?.error.code).toBe('validation_failed');
    const scopes = await admin.POST('/v1/keys', {
      // @ts-expect-error `scopes` is a list of strings.
      body: { name: 'ops', scopes: 'admin' },
    });
    expect(scopes.response.status).toBe(422);
  });
});
