// GET /v1/tenants/:tenant/explain: the data plane's own decision for a request, step by step, without
// making it; checked against what the data plane then answers.
import { describe, expect, test } from 'vitest';
import { awayFromMinuteEnd } from './clock';
import { api, type ErrorBody, newKey, newTenant } from './control-client';
import { gatewayFetch } from './helpers';

type Explanation = {
  tenant_id: string;
  host: string;
  instance: string | null;
  service: string | null;
  upstream_url: string | null;
  status: string | null;
  auth: { mode: string; public_path: boolean; key_optional: boolean; required_scope: string } | null;
  key: { id: string; valid: boolean; scopes: string[] } | null;
  limits: { counter: string; kind: string; limit: number; used: number; reset_seconds: number }[];
  decision: string;
};

async function limitedTenant() {
  const { tenant } = await newTenant({
    rate_limit: { requests_per_minute: 2, requests_per_day: null },
    auth: { mode: 'required', public_paths: ['/public/*'] },
    routes: [{ methods: ['POST'], path: '/admin/*', scope: 'admin:write' }],
  });
  await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
  return tenant;
}

const explain = (tenant: string, query: string, key?: string) =>
  api<Explanation>('GET', `/v1/tenants/${tenant}/explain?${query}`, key ? { key } : {});

describe('explain', () => {
  test('each step as the data plane takes it, and the decision it then makes', async () => {
    const tenant = await limitedTenant();
    const { key, secret } = await newKey(tenant.id, ['proxy:read']);
    const host = `${tenant.slug}.${tenant.instance}.localhost`;
    // The case spends a minute's limit and reads it back: not across a minute boundary.
    awayFromMinuteEnd();

    const ok = await explain(tenant.slug, `path=/items?x=1&key_id=${key.id}&host=${host}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      tenant_id: tenant.id,
      host,
      instance: tenant.instance,
      service: 'default',
      status: 'active',
      auth: { mode: 'required', public_path: false, key_optional: false, required_scope: 'proxy:read' },
      key: { id: key.id, valid: true, scopes: ['proxy:read'] },
      decision: 'forward',
    });
    expect(ok.body.upstream_url).toMatch(/\/items\?x=1$/);
    expect(ok.body.limits).toEqual([
      { counter: 'tenant:minute', kind: 'minute', limit: 2, used: 0, reset_seconds: expect.any(Number) },
    ]);

    // The limit spent by real traffic: the gate's count says the next one would be refused, as it is.
    const call = async () =>
      (await gatewayFetch(`http://${host}/items`, { headers: { authorization: `Bearer ${secret}` } })).status;
    expect([await call(), await call()]).toEqual([200, 200]);
    const spent = await explain(tenant.slug, `path=/items&key_id=${key.id}`);
    expect(spent.body.limits[0].used).toBe(2);
    expect(spent.body.decision).toBe('rate_limited');
    expect(await call()).toBe(429);

    // The route's scope, a missing key, a public path.
    const admin = await explain(tenant.slug, `method=post&path=/admin/x&key_id=${key.id}`);
    expect([admin.body.auth?.required_scope, admin.body.decision]).toEqual([
      'admin:write',
      'insufficient_scope',
    ]);
    expect((await explain(tenant.slug, 'path=/items')).body.decision).toBe('missing_api_key');
    const open = await explain(tenant.slug, 'path=/public/logo.png');
    expect(open.body.auth).toMatchObject({ public_path: true, key_optional: true });
  });

  test('a revoked key, a suspended tenant, a host of another tenant, a service host', async () => {
    const tenant = await limitedTenant();
    const { key } = await newKey(tenant.id, ['proxy:read']);
    await api('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    const revoked = await explain(tenant.id, `path=/x&key_id=${key.id}`);
    expect(revoked.body.key).toMatchObject({ id: key.id, valid: false });
    expect(revoked.body.decision).toBe('invalid_api_key');

    const other = await limitedTenant();
    const elsewhere = await explain(tenant.id, `path=/x&host=${other.slug}.localhost`);
    expect(elsewhere.body.decision).toBe('unknown_host');
    expect(JSON.stringify(elsewhere.body)).not.toContain(other.id);

    // A service host: that service's upstream; a service the instance lacks, no host of the tenant.
    const gui = `${tenant.slug}.${tenant.instance}.app.localhost`;
    expect((await explain(tenant.id, `path=/x&host=${gui}`)).body).toMatchObject({
      service: null,
      upstream_url: null,
      decision: 'unknown_host',
    });
    await api('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { services: { gui: { upstreams: ['http://127.0.0.1:9/gui'] } } },
    });
    expect((await explain(tenant.id, `path=/x?y=1&host=${gui}`)).body).toMatchObject({
      instance: tenant.instance,
      service: 'gui',
      upstream_url: 'http://127.0.0.1:9/gui/x?y=1',
      decision: 'missing_api_key',
    });

    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'suspended' } });
    expect((await explain(tenant.id, 'path=/x')).body.decision).toBe('tenant_suspended');
  });

  test("for the tenant's own admin; another tenant's key or tenant is 404; bad input is 422", async () => {
    const tenant = await limitedTenant();
    const other = await limitedTenant();
    const { secret } = await newKey(tenant.id, ['tenant:admin']);
    const { key: theirs } = await newKey(other.id, ['proxy:read']);
    expect((await explain(tenant.slug, 'path=/x', secret)).status).toBe(200);
    const foreignKey = await explain(tenant.slug, `path=/x&key_id=${theirs.id}`, secret);
    expect([foreignKey.status, (foreignKey.body as unknown as ErrorBody).error.code]).toEqual([
      404,
      'not_found',
    ]);
    expect((await explain(other.slug, 'path=/x', secret)).status).toBe(404);
    expect((await explain(tenant.slug, 'path=no-slash')).status).toBe(422);
    expect((await explain(tenant.slug, 'path=/x&host=bad_host!')).status).toBe(422);
  });
});
