import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/app';
import { unseal } from '../../src/core/crypto/seal';
import { verifySignature } from '../../src/core/crypto/signing';
import { instances, tenants } from '../../src/db/schema';
import { api, type ErrorBody, errorCode, newInstance, newKey, newTenant } from './control-client';
import { gatewayFetch, gatewayFetchB, unique, withDb } from './helpers';
import { advanceClockB, levelClocks } from './isolates';

type InstanceJson = {
  id: string;
  name: string;
  upstreams: string[];
  timeout_ms: number;
  services: Record<string, { upstreams: string[]; timeout_ms: number }>;
  hooks_url: string | null;
  max_tenants: number | null;
  draining: boolean;
  tenant_count: number;
  created_at: string;
  updated_at: string;
};
type Page = { data: InstanceJson[]; next_cursor: string | null };

describe('POST /v1/instances', () => {
  test('creates an instance and answers its signing secret once; it is stored sealed', async () => {
    const name = unique('i');
    const res = await api<{ instance: InstanceJson; signing_secret: string }>('POST', '/v1/instances', {
      body: {
        name,
        upstreams: [`${env.TEST_UPSTREAM_URL}/`],
        services: { gui: { upstreams: [`${env.TEST_UPSTREAM_URL_B}/`] } },
        hooks_url: `${env.TEST_UPSTREAM_URL}/hooks`,
        max_tenants: 3,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.instance).toEqual({
      id: expect.stringMatching(/^ins_/),
      name,
      upstreams: [env.TEST_UPSTREAM_URL],
      timeout_ms: 30000,
      services: { gui: { upstreams: [env.TEST_UPSTREAM_URL_B], timeout_ms: 30000 } },
      hooks_url: `${env.TEST_UPSTREAM_URL}/hooks`,
      max_tenants: 3,
      draining: false,
      tenant_count: 0,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(res.body.signing_secret).toMatch(/^whsec_[0-9A-Za-z]{40}$/);
    const [row] = await withDb((db) => db.select().from(instances).where(eq(instances.name, name)));
    expect(row.signingSecretSealed).not.toContain(res.body.signing_secret);
    expect(await unseal(row.signingSecretSealed, env.SEALING_KEY)).toBe(res.body.signing_secret);
    const got = await api<{ instance: InstanceJson }>('GET', `/v1/instances/${name}`);
    expect(got.body).toEqual({ instance: res.body.instance });
    expect(JSON.stringify(got.body)).not.toContain('secret');
  });

  test('a taken name → 409 conflict', async () => {
    const name = await newInstance();
    const res = await api('POST', '/v1/instances', { body: { name, upstreams: [env.TEST_UPSTREAM_URL] } });
    expect(res.status).toBe(409);
    expect(errorCode(res)).toBe('conflict');
  });

  test('validation: name, upstreams (each entry named), timeout_ms, hooks_url, unknown fields', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'Not_A_Label', upstreams: ['https://a.example.com'] }, 'name'],
      [{ name: '-x', upstreams: ['https://a.example.com'] }, 'name'],
      [{ name: unique('i'), upstreams: [] }, 'upstreams'],
      [{ name: unique('i'), upstreams: ['https://a.example.com', 'ftp://b.example.com'] }, 'upstreams.1'],
      [{ name: unique('i'), upstreams: ['https://user:pw@a.example.com'] }, 'upstreams.0'],
      [{ name: unique('i'), upstreams: ['https://a.example.com/#frag'] }, 'upstreams.0'],
      [{ name: unique('i'), upstreams: ['https://a.example.com'], timeout_ms: 10 }, 'timeout_ms'],
      [{ name: unique('i'), upstreams: ['https://a.example.com'], hooks_url: 'not a url' }, 'hooks_url'],
      [{ name: unique('i'), upstreams: ['https://a.example.com'], signing_secret: 'mine' }, 'signing_secret'],
      // A label of a base domain (app.localhost): `{tenant}.app.localhost` is the gui base domain's.
      [{ name: 'app', upstreams: ['https://a.example.com'] }, 'name'],
      [{ name: unique('i'), upstreams: ['https://a.example.com'], max_tenants: -1 }, 'max_tenants'],
      [{ name: unique('i'), upstreams: ['https://a.example.com'], draining: 'yes' }, 'draining'],
      ...[
        [{ Gui_1: { upstreams: ['https://g.example.com'] } }, 'services.Gui_1'],
        [{ default: { upstreams: ['https://g.example.com'] } }, 'services.default'],
        [
          { gui: { upstreams: ['https://g.example.com', 'ftp://g.example.com'] } },
          'services.gui.upstreams.1',
        ],
        [{ gui: { upstreams: [] } }, 'services.gui.upstreams'],
        [{ gui: { upstreams: ['https://g.example.com'], weight: 2 } }, 'services.gui.weight'],
      ].map(([services, path]): [Record<string, unknown>, string] => [
        { name: unique('i'), upstreams: ['https://a.example.com'], services },
        path as string,
      ]),
    ];
    for (const [body, path] of cases) {
      const res = await api<ErrorBody>('POST', '/v1/instances', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details?.map((d) => d.path)).toContain(path);
    }
  });

  test('private upstream addresses are refused unless ALLOW_PRIVATE_UPSTREAMS', async () => {
    const app = createApp();
    const ctx = {
      waitUntil: () => {},
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext;
    for (const upstream of [
      'http://127.0.0.1:8080',
      'http://0x7f.1/',
      'http://169.254.169.254',
      'http://[::1]/',
    ]) {
      const res = await app.fetch(
        new Request('http://control.localhost/v1/instances', {
          method: 'POST',
          headers: { authorization: `Bearer ${env.ADMIN_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: unique('i'), upstreams: [upstream] }),
        }),
        { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' },
        ctx,
      );
      expect(res.status, upstream).toBe(422);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.details?.[0].path).toBe('upstreams.0');
    }
  });
});

describe('GET /v1/instances', () => {
  test('pages by name over more than one page', async () => {
    const names = [await newInstance(), await newInstance(), await newInstance()];
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: Page } = await api<Page>(
        'GET',
        `/v1/instances?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...res.body.data.map((i) => i.name));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (const name of names) expect(seen).toContain(name);
  });

  test('an unknown name → 404', async () => {
    const res = await api('GET', `/v1/instances/${unique('nosuch')}`);
    expect(res.status).toBe(404);
    expect(errorCode(res)).toBe('not_found');
  });
});

describe('PATCH /v1/instances/:name', () => {
  test('changes upstreams; every tenant placed on it sees the change on its next request', async () => {
    const { tenant } = await newTenant();
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
    const { secret } = await newKey(tenant.id, ['proxy:read']);
    const host = `http://${tenant.slug}.${tenant.instance}.localhost/who`;
    const echoName = async () => {
      const res = await gatewayFetch(host, { headers: { authorization: `Bearer ${secret}` } });
      return ((await res.json()) as { upstream?: string }).upstream;
    };
    const first = await echoName();
    const [v0] = await withDb((db) =>
      db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)),
    );
    const res = await api<{ instance: InstanceJson }>('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { upstreams: [env.TEST_UPSTREAM_URL_B], timeout_ms: 5000, hooks_url: null },
    });
    expect(res.status).toBe(200);
    expect(res.body.instance).toMatchObject({
      upstreams: [env.TEST_UPSTREAM_URL_B],
      timeout_ms: 5000,
      hooks_url: null,
    });
    const [v1] = await withDb((db) =>
      db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)),
    );
    expect(v1.v).toBe(v0.v + 1);
    const second = await echoName();
    expect(first).toBe('a');
    expect(second).toBe('b');
  });

  test('a new service reaches both isolates within a feed poll; capacity bounds new placements only', async () => {
    const { tenant } = await newTenant();
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
    const { secret } = await newKey(tenant.id, ['proxy:read']);
    const gui = `http://${tenant.slug}.${tenant.instance}.app.localhost/who`;
    const through = async (fetch: typeof gatewayFetch, url: string) => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${secret}` } });
      if (res.status !== 200) return `${res.status} ${((await res.json()) as ErrorBody).error.code}`;
      const echo = (await res.json()) as { upstream: string; headers: Record<string, string> };
      return `${echo.upstream} ${echo.headers['x-gateway-service']}`;
    };
    await levelClocks();
    // B caches the tenant while its instance has no gui service.
    expect(await through(gatewayFetchB, gui)).toBe('404 unknown_host');
    const added = await api<{ instance: InstanceJson }>('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { services: { gui: { upstreams: [env.TEST_UPSTREAM_URL_B], timeout_ms: 5000 } } },
    });
    expect(added.status).toBe(200);
    expect(added.body.instance.services).toEqual({
      gui: { upstreams: [env.TEST_UPSTREAM_URL_B], timeout_ms: 5000 },
    });
    expect(added.body.instance.tenant_count).toBe(1);
    // The writing isolate at once; the other one on its next request past one feed poll (≤ 1 s).
    expect(await through(gatewayFetch, gui)).toBe('b gui');
    await advanceClockB(1_100);
    expect(await through(gatewayFetchB, gui)).toBe('b gui');
    expect(await through(gatewayFetchB, gui.replace('.app.', '.'))).toBe('a default');
    const listed = await api<{ tenant: { urls: { service: string; url: string }[] } }>(
      'GET',
      `/v1/tenants/${tenant.id}`,
    );
    expect(listed.body.tenant.urls.map((u) => u.service)).toEqual(['default', 'gui']);

    // Capacity is read by placements only: no tenant is bumped, and the data plane keeps serving it.
    const version = async () =>
      (
        await withDb((db) => db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)))
      )[0].v;
    const before = await version();
    const drained = await api<{ instance: InstanceJson }>('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { draining: true, max_tenants: 1 },
    });
    expect(drained.body.instance).toMatchObject({ draining: true, max_tenants: 1, tenant_count: 1 });
    expect(await version()).toBe(before);
    await advanceClockB(1_100);
    expect(await through(gatewayFetchB, gui)).toBe('b gui');
    const refused = await api<ErrorBody>('POST', '/v1/tenants', {
      body: { name: unique('Late '), instance: tenant.instance },
    });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'instance_full']);
    expect(refused.body.error.details).toEqual([
      { path: 'instance', message: `instance ${tenant.instance} is draining: it takes no new tenants` },
    ]);
    await api('PATCH', `/v1/instances/${tenant.instance}`, { body: { draining: false } });
    const full = await api<ErrorBody>('POST', '/v1/tenants', {
      body: { name: unique('Late '), instance: tenant.instance },
    });
    expect(full.body.error.details?.[0].message).toBe(`instance ${tenant.instance} is full: 1 of 1 tenants`);
    const raised = await api('PATCH', `/v1/instances/${tenant.instance}`, { body: { max_tenants: null } });
    expect(raised.status).toBe(200);
    expect(
      (await api('POST', '/v1/tenants', { body: { name: unique('Now '), instance: tenant.instance } }))
        .status,
    ).toBe(201);
  });

  test('404 for an unknown instance; 422 for a bad upstream or a name change', async () => {
    expect(
      (await api('PATCH', `/v1/instances/${unique('nosuch')}`, { body: { timeout_ms: 1000 } })).status,
    ).toBe(404);
    const name = await newInstance();
    const bad = await api<ErrorBody>('PATCH', `/v1/instances/${name}`, { body: { upstreams: ['nope'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details?.[0].path).toBe('upstreams.0');
    expect((await api('PATCH', `/v1/instances/${name}`, { body: { name: 'renamed' } })).status).toBe(422);
  });
});

describe('DELETE /v1/instances/:name', () => {
  test('409 instance_in_use while a tenant is placed on it; 204 once it is free; 404 after', async () => {
    const { tenant } = await newTenant();
    const spare = await newInstance();
    const inUse = await api('DELETE', `/v1/instances/${tenant.instance}`);
    expect(inUse.status).toBe(409);
    expect(errorCode(inUse)).toBe('instance_in_use');
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { instance: spare, instances: [] } });
    const freed = await api('DELETE', `/v1/instances/${tenant.instance}`);
    expect(freed.status).toBe(204);
    expect((await api('GET', `/v1/instances/${tenant.instance}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/instances/${tenant.instance}`)).status).toBe(404);
  });
});

describe('POST /v1/instances/:name/rotate-secret', () => {
  test('answers a new secret once; the data plane signs with it from the next request', async () => {
    const { tenant } = await newTenant();
    await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
    const { secret } = await newKey(tenant.id, ['proxy:read']);
    const host = `${tenant.slug}.${tenant.instance}.localhost`;
    const signedWith = async (signingSecret: string) => {
      const res = await gatewayFetch(`http://${host}/signed`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      const echo = (await res.json()) as { headers: Record<string, string> };
      return verifySignature(
        signingSecret,
        {
          timestamp: Number(echo.headers['x-gateway-timestamp']),
          method: 'GET',
          host,
          pathAndQuery: '/signed',
          tenantId: tenant.id,
          keyId: echo.headers['x-gateway-key-id'],
        },
        echo.headers['x-gateway-signature'],
      );
    };
    const [row] = await withDb((db) =>
      db
        .select()
        .from(instances)
        .where(eq(instances.name, tenant.instance as string)),
    );
    const old = await unseal(row.signingSecretSealed, env.SEALING_KEY);
    expect(await signedWith(old)).toBe(true);
    const res = await api<{ instance: InstanceJson; signing_secret: string }>(
      'POST',
      `/v1/instances/${tenant.instance}/rotate-secret`,
    );
    expect(res.status).toBe(200);
    expect(res.body.instance.name).toBe(tenant.instance);
    expect(res.body.signing_secret).toMatch(/^whsec_/);
    expect(res.body.signing_secret).not.toBe(old);
    expect(await signedWith(res.body.signing_secret)).toBe(true);
    expect(await signedWith(old)).toBe(false);
    expect((await api('POST', `/v1/instances/${unique('nosuch')}/rotate-secret`)).status).toBe(404);
  });
});
