import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { tenants } from '../../src/db/schema';
import { api, type ErrorBody, errorCode, newInstance, newKey, newTenant } from './control-client';
import { gatewayFetch, unique, withDb } from './helpers';

type DomainJson = {
  hostname: string;
  tenant_id: string;
  instance: string | null;
  service: string;
  created_at: string;
};

describe('custom domains', () => {
  test('add (normalised), list, and the data plane routes the domain at once; remove stops it at once', async () => {
    const { tenant } = await newTenant();
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
    const { secret } = await newKey(tenant.id, ['proxy:read']);
    const hostname = `${unique('api')}.example.com`;
    const [v0] = await withDb((db) =>
      db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)),
    );

    const added = await api<{ domain: DomainJson }>('POST', `/v1/tenants/${tenant.slug}/domains`, {
      body: { hostname: `${hostname.toUpperCase()}.` },
    });
    expect(added.status).toBe(201);
    expect(added.body.domain).toEqual({
      hostname,
      tenant_id: tenant.id,
      instance: null,
      service: 'default',
      created_at: expect.any(String),
    });
    const [v1] = await withDb((db) =>
      db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)),
    );
    expect(v1.v).toBe(v0.v + 1);

    const routed = await gatewayFetch(`http://${hostname}/x`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(routed.status).toBe(200);
    expect(((await routed.json()) as { headers: Record<string, string> }).headers['x-tenant-id']).toBe(
      tenant.id,
    );

    const shown = await api<{ tenant: { domains: string[] } }>('GET', `/v1/tenants/${tenant.id}`);
    expect(shown.body.tenant.domains).toEqual([hostname]);

    const removed = await api('DELETE', `/v1/tenants/${tenant.id}/domains/${hostname.toUpperCase()}`);
    expect(removed.status).toBe(204);
    const gone = await gatewayFetch(`http://${hostname}/x`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(gone.status).toBe(404);
    expect((await api('DELETE', `/v1/tenants/${tenant.id}/domains/${hostname}`)).status).toBe(404);
  });

  test('a domain may name one of the tenant’s instances, and no other', async () => {
    const second = await newInstance();
    const { tenant } = await newTenant({ instances: [] });
    const hostname = `${unique('pinned')}.example.com`;
    const notPlaced = await api<ErrorBody>('POST', `/v1/tenants/${tenant.id}/domains`, {
      body: { hostname, instance: second },
    });
    expect(notPlaced.status).toBe(422);
    expect(notPlaced.body.error.details?.[0].path).toBe('instance');
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { instances: [second] } });
    const pinned = await api<{ domain: DomainJson }>('POST', `/v1/tenants/${tenant.id}/domains`, {
      body: { hostname, instance: second },
    });
    expect(pinned.status).toBe(201);
    expect(pinned.body.domain.instance).toBe(second);
    // Removing the placement a domain is served from would strand it.
    const strand = await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { instances: [] } });
    expect(strand.status).toBe(409);
    // Dropping the domain and its placement in one PUT is fine.
    const both = await api<{ tenant: { instances: string[]; domains: string[] } }>(
      'PUT',
      `/v1/tenants/${tenant.id}`,
      {
        body: { name: tenant.name, instance: tenant.instance },
      },
    );
    expect(both.status).toBe(200);
    expect(both.body.tenant).toMatchObject({ instances: [tenant.instance], domains: [] });
  });

  test('a domain may name a service its instance has: the data plane reaches it; any other → 422', async () => {
    const { tenant } = await newTenant();
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
    await api('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { services: { api: { upstreams: [env.TEST_UPSTREAM_URL_B] } } },
    });
    const { secret } = await newKey(tenant.id, ['proxy:read']);
    const add = (hostname: string, service: unknown) =>
      api<ErrorBody & { domain: DomainJson }>('POST', `/v1/tenants/${tenant.id}/domains`, {
        body: { hostname, service },
      });
    const hostname = `${unique('svc')}.example.com`;
    const added = await add(hostname, 'api');
    expect([added.status, added.body.domain.service]).toEqual([201, 'api']);
    const routed = await gatewayFetch(`http://${hostname}/x`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    const echo = (await routed.json()) as { upstream: string; headers: Record<string, string> };
    expect([echo.upstream, echo.headers['x-gateway-service']]).toEqual(['b', 'api']);
    for (const [service, message] of [
      ['gui', `instance ${tenant.instance} has no service named gui`],
      ['Not_A_Label', 'a service name is a DNS label: a-z, 0-9 and inner -, at most 63 characters'],
    ]) {
      const refused = await add(`${unique('svc')}.example.com`, service);
      expect(refused.status, service).toBe(422);
      expect(refused.body.error.details).toEqual([{ path: 'service', message }]);
    }
  });

  test('unique across tenants → 409 conflict; invalid or reserved names → 422', async () => {
    const hostname = `${unique('dup')}.example.com`;
    const a = await newTenant({ domain: hostname });
    const b = await newTenant();
    const dup = await api('POST', `/v1/tenants/${b.tenant.id}/domains`, { body: { hostname } });
    expect(dup.status).toBe(409);
    expect(errorCode(dup)).toBe('conflict');
    const again = await api('POST', `/v1/tenants/${a.tenant.id}/domains`, { body: { hostname } });
    expect(again.status).toBe(409);
    for (const bad of [
      'localhost',
      'x.localhost',
      'control.localhost',
      'a b.com',
      'com',
      '192.168.0.1',
      '[::1]',
      '',
    ]) {
      const res = await api<ErrorBody>('POST', `/v1/tenants/${b.tenant.id}/domains`, {
        body: { hostname: bad },
      });
      expect(res.status, bad).toBe(422);
      expect(res.body.error.details?.[0].path).toBe('hostname');
    }
  });

  test('list pages by cursor; unknown tenant → 404', async () => {
    const names = [0, 1, 2].map((i) => `${unique(`d${i}`)}.example.org`);
    const { tenant } = await newTenant({ domains: names });
    const first = await api<{ data: DomainJson[]; next_cursor: string | null }>(
      'GET',
      `/v1/tenants/${tenant.id}/domains?limit=2`,
    );
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).toBeTruthy();
    const second = await api<{ data: DomainJson[]; next_cursor: string | null }>(
      'GET',
      `/v1/tenants/${tenant.slug}/domains?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.next_cursor).toBeNull();
    expect([...first.body.data, ...second.body.data].map((d) => d.hostname)).toEqual([...names].sort());
    expect((await api('GET', `/v1/tenants/${unique('nosuch')}/domains`)).status).toBe(404);
  });

  test('a tenant:admin key manages its own domains', async () => {
    const { tenant } = await newTenant();
    const { secret } = await newKey(tenant.id, ['tenant:admin']);
    const hostname = `${unique('self')}.example.net`;
    expect(
      (await api('POST', `/v1/tenants/${tenant.id}/domains`, { key: secret, body: { hostname } })).status,
    ).toBe(201);
    const list = await api<{ data: DomainJson[] }>('GET', `/v1/tenants/${tenant.id}/domains`, {
      key: secret,
    });
    expect(list.body.data.map((d) => d.hostname)).toEqual([hostname]);
    expect(
      (await api('DELETE', `/v1/tenants/${tenant.id}/domains/${hostname}`, { key: secret })).status,
    ).toBe(204);
  });
});
