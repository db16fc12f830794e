import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/app';
import { unseal } from '../../src/core/crypto/seal';
import { verifySignature } from '../../src/core/crypto/signing';
import { instances, tenants } from '../../src/db/schema';
import { api, type ErrorBody, errorCode, newInstance, newKey, newTenant } from './control-client';
import { gatewayFetch, unique, withDb } from './helpers';

type InstanceJson = {
  id: string;
  name: string;
  upstreams: string[];
  timeout_ms: number;
  hooks_url: string | null;
  created_at: string;
  updated_at: string;
};
type Page = { data: InstanceJson[]; next_cursor: string | null };

describe('POST /v1/instances', () => {
  test('creates an instance and answers its signing secret once; it is stored sealed', async () => {
    const name = unique('i');
    const res = await api<{ instance: InstanceJson; signing_secret: string }>('POST', '/v1/instances', {
      body: { name, upstreams: [`${env.TEST_UPSTREAM_URL}/`], hooks_url: `${env.TEST_UPSTREAM_URL}/hooks` },
    });
    expect(res.status).toBe(201);
    expect(res.body.instance).toEqual({
      id: expect.stringMatching(/^ins_/),
      name,
      upstreams: [env.TEST_UPSTREAM_URL],
      timeout_ms: 30000,
      hooks_url: `${env.TEST_UPSTREAM_URL}/hooks`,
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
