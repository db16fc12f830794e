import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { sha256Hex } from '../../src/core/crypto/secrets';
import { apiKeys, tenants } from '../../src/db/schema';
import { now } from './clock';
import { api, type ErrorBody, errorCode, type KeyJson, newKey, newTenant } from './control-client';
import { gatewayFetch, seedTenant, unique, withDb } from './helpers';

type KeyPage = { data: KeyJson[]; next_cursor: string | null };

async function activeTenant(fields: Record<string, unknown> = {}) {
  const { tenant } = await newTenant(fields);
  await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } });
  return tenant;
}

describe('tenant keys', () => {
  test('create answers the secret once; it is stored as SHA-256 with a display prefix', async () => {
    const tenant = await activeTenant();
    const expires = new Date(now() + 86_400_000).toISOString();
    const res = await api<{ key: KeyJson; secret: string }>('POST', `/v1/tenants/${tenant.slug}/keys`, {
      body: { name: 'ci', scopes: ['proxy:read', 'send'], expires_at: expires },
    });
    expect(res.status).toBe(201);
    const { key, secret } = res.body;
    expect(secret).toMatch(/^gw_[0-9A-Za-z]{38}$/);
    expect(key).toEqual({
      id: expect.stringMatching(/^key_/),
      tenant_id: tenant.id,
      name: 'ci',
      prefix: secret.slice(0, 10),
      scopes: ['proxy:read', 'send'],
      expires_at: expires,
      revoked_at: null,
      rate_limit: null,
      created_at: expect.any(String),
      last_used_at: null,
    });
    const [row] = await withDb((db) => db.select().from(apiKeys).where(eq(apiKeys.id, key.id)));
    expect(row.keyHash).toBe(await sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);

    const got = await api<{ key: KeyJson }>('GET', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    expect(got.status).toBe(200);
    expect(got.body.key).toEqual(key);
    expect(JSON.stringify(got.body)).not.toContain(secret.slice(10));
  });

  test('validation: scopes, expiry in the past, a rate limit above the tenant’s, unknown fields', async () => {
    const tenant = await activeTenant({ rate_limit: { requests_per_minute: 100, requests_per_day: null } });
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['Not Valid'] }, 'scopes.0'],
      [{ scopes: ['proxy:read'] }, 'name'],
      [{ name: 'x', scopes: ['proxy:read'], expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', scopes: ['proxy:read'], expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      [
        { name: 'x', scopes: ['proxy:read'], rate_limit: { requests_per_minute: 101 } },
        'rate_limit.requests_per_minute',
      ],
      [{ name: 'x', scopes: ['proxy:read'], secret: 'gw_mine' }, 'secret'],
    ];
    for (const [body, path] of cases) {
      const res = await api<ErrorBody>('POST', `/v1/tenants/${tenant.id}/keys`, { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.details?.map((d) => d.path)).toContain(path);
    }
    const within = await api('POST', `/v1/tenants/${tenant.id}/keys`, {
      body: {
        name: 'x',
        scopes: ['proxy:read'],
        rate_limit: { requests_per_minute: 100, requests_per_day: 5000 },
      },
    });
    expect(within.status).toBe(201);
  });

  test('list pages by cursor and includes revoked keys; an unknown key id → 404', async () => {
    const tenant = await activeTenant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await newKey(tenant.id, ['proxy:read'])).key.id);
    await api('DELETE', `/v1/tenants/${tenant.id}/keys/${ids[0]}`);
    const seen: KeyJson[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: KeyPage } = await api<KeyPage>(
        'GET',
        `/v1/tenants/${tenant.slug}/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...res.body.data);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((k) => k.id)).toEqual([...ids].sort());
    expect(seen.find((k) => k.id === ids[0])?.revoked_at).not.toBeNull();
    for (const k of seen) expect(Object.keys(k)).not.toContain('secret');
    expect((await api('GET', `/v1/tenants/${tenant.id}/keys/key_nosuch`)).status).toBe(404);
    expect((await api('DELETE', `/v1/tenants/${tenant.id}/keys/key_nosuch`)).status).toBe(404);
    expect((await api('POST', `/v1/tenants/${tenant.id}/keys/key_nosuch/rotate`)).status).toBe(404);
  });

  test('revoking a key through the API makes the data plane answer 401 on the very next request', async () => {
    const tenant = await activeTenant();
    const { key, secret } = await newKey(tenant.id, ['proxy:read']);
    const host = `http://${tenant.slug}.${tenant.instance}.localhost/hello`;
    const before = await gatewayFetch(host, { headers: { authorization: `Bearer ${secret}` } });
    expect(before.status).toBe(200);
    await before.arrayBuffer();
    const revoked = await api('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    expect(revoked.status).toBe(204);
    const after = await gatewayFetch(host, { headers: { authorization: `Bearer ${secret}` } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as ErrorBody).error.code).toBe('invalid_api_key');
    const again = await api('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    expect(again.status).toBe(204);
    const shown = await api<{ key: KeyJson }>('GET', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    expect(shown.body.key.revoked_at).not.toBeNull();
  });

  test('a secret whose checksum fails is 401 invalid_api_key; keys made before the checksum still work', async () => {
    const tenant = await activeTenant();
    const { secret } = await newKey(tenant.id, ['proxy:read', 'tenant:admin']);
    const host = `http://${tenant.slug}.${tenant.instance}.localhost/typo`;
    const bearer = (s: string) => ({ headers: { authorization: `Bearer ${s}` } });
    // One character of the random part mistyped: the checksum no longer holds.
    const at = 12;
    const typo = secret.slice(0, at) + (secret[at] === 'a' ? 'b' : 'a') + secret.slice(at + 1);
    const refused = await gatewayFetch(host, bearer(typo));
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ErrorBody).error.code).toBe('invalid_api_key');
    const control = await api('GET', `/v1/tenants/${tenant.id}/keys`, { key: typo });
    expect(control.status).toBe(401);
    expect(errorCode(control)).toBe('invalid_api_key');
    expect((await gatewayFetch(host, bearer(secret))).status).toBe(200);

    // A key of the earlier format (`gw_` + 40 characters, no checksum), as stored before this release.
    const legacy = await seedTenant();
    expect(legacy.key).toHaveLength(43);
    const old = await gatewayFetch(
      `http://${legacy.slug}.${legacy.instance}.localhost/x`,
      bearer(legacy.key),
    );
    expect(old.status).toBe(200);
  });

  test('rotate keeps the id and scopes, gives a new secret, and the old one stops working at once', async () => {
    const tenant = await activeTenant();
    const { key, secret } = await newKey(tenant.id, ['proxy:read']);
    const host = `http://${tenant.slug}.${tenant.instance}.localhost/x`;
    expect((await gatewayFetch(host, { headers: { 'x-api-key': secret } })).status).toBe(200);
    const res = await api<{ key: KeyJson; secret: string }>(
      'POST',
      `/v1/tenants/${tenant.slug}/keys/${key.id}/rotate`,
    );
    expect(res.status).toBe(200);
    expect(res.body.key.id).toBe(key.id);
    expect(res.body.key.scopes).toEqual(key.scopes);
    expect(res.body.secret).not.toBe(secret);
    expect(res.body.key.prefix).toBe(res.body.secret.slice(0, 10));
    expect((await gatewayFetch(host, { headers: { 'x-api-key': secret } })).status).toBe(401);
    const fresh = await gatewayFetch(host, { headers: { 'x-api-key': res.body.secret } });
    expect(fresh.status).toBe(200);
    await fresh.arrayBuffer();

    await api('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    const rotateRevoked = await api('POST', `/v1/tenants/${tenant.id}/keys/${key.id}/rotate`);
    expect(rotateRevoked.status).toBe(409);
    expect(errorCode(rotateRevoked)).toBe('conflict');
  });

  test('every key change bumps the tenant version', async () => {
    const tenant = await activeTenant();
    const version = async () =>
      (
        await withDb((db) => db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)))
      )[0].v;
    const v0 = await version();
    const { key } = await newKey(tenant.id, ['proxy:read']);
    await api('POST', `/v1/tenants/${tenant.id}/keys/${key.id}/rotate`);
    await api('DELETE', `/v1/tenants/${tenant.id}/keys/${key.id}`);
    expect(await version()).toBe(v0 + 3);
  });
});

describe('a tenant:admin key', () => {
  test('gives its own tenant keys of any tenant scope, and never an operator scope', async () => {
    const tenant = await activeTenant();
    const admin = await newKey(tenant.id, ['tenant:admin']);
    // The tenant's administrator gives its backend a key: proxy scopes, route scopes, tenant:admin, `*`.
    for (const scopes of [['proxy:read'], ['proxy:read', 'proxy:write', 'send'], ['tenant:admin'], ['*']]) {
      const res = await api<{ key: KeyJson }>('POST', `/v1/tenants/${tenant.slug}/keys`, {
        key: admin.secret,
        body: { name: 'mine', scopes },
      });
      expect(res.status, scopes.join()).toBe(201);
      expect(res.body.key.scopes).toEqual(scopes);
    }
    const list = await api<KeyPage>('GET', `/v1/tenants/${tenant.id}/keys`, { key: admin.secret });
    expect(list.status).toBe(200);
    expect(list.body.data.filter((k) => k.name === 'mine')).toHaveLength(4);
    // Operator scopes exist only on operator keys: refused for the admin key and for the operator alike.
    for (const key of [admin.secret, undefined]) {
      for (const scopes of [['admin'], ['read'], ['proxy:read', 'admin']]) {
        const res = await api<ErrorBody>('POST', `/v1/tenants/${tenant.id}/keys`, {
          key,
          body: { name: 'x', scopes },
        });
        expect(res.status, scopes.join()).toBe(422);
        expect(errorCode(res)).toBe('validation_failed');
        expect(res.body.error.details?.[0].path).toMatch(/^scopes\.\d$/);
      }
    }
  });

  test('a tenant key without tenant:admin cannot grant scopes it lacks, nor rotate a key holding them', async () => {
    const tenant = await activeTenant();
    const limited = await newKey(tenant.id, ['proxy:read', 'tenant:keys']);
    // Not an administrator: it reaches no control route at all, so it cannot hand out anything.
    const res = await api('POST', `/v1/tenants/${tenant.id}/keys`, {
      key: limited.secret,
      body: { name: 'x', scopes: ['proxy:read'] },
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('insufficient_scope');
    const strong = await newKey(tenant.id, ['*']);
    const rotate = await api('POST', `/v1/tenants/${tenant.id}/keys/${strong.key.id}/rotate`, {
      key: limited.secret,
    });
    expect(rotate.status).toBe(403);
    const [row] = await withDb((db) =>
      db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, strong.key.id), eq(apiKeys.tenantId, tenant.id))),
    );
    expect(row.keyHash).toBe(await sha256Hex(strong.secret));
  });

  test('records last_used_at when it calls the control API', async () => {
    const tenant = await activeTenant();
    const admin = await newKey(tenant.id, ['tenant:admin']);
    expect(admin.key.last_used_at).toBeNull();
    await api('GET', `/v1/tenants/${tenant.id}`, { key: admin.secret });
    const shown = await api<{ key: KeyJson }>('GET', `/v1/tenants/${tenant.id}/keys/${admin.key.id}`);
    expect(shown.body.key.last_used_at).not.toBeNull();
  });
});

describe('operator keys at /v1/keys', () => {
  test('hold only operator scopes: admin, read or *; a tenant scope → 422, nothing made', async () => {
    const name = unique('ops ');
    for (const scopes of [['tenant:admin'], ['proxy:read'], ['read', 'send']]) {
      const res = await api<ErrorBody>('POST', '/v1/keys', { body: { name, scopes } });
      expect(res.status, scopes.join()).toBe(422);
      expect(errorCode(res)).toBe('validation_failed');
      expect(res.body.error.details?.[0].path).toMatch(/^scopes\.\d$/);
    }
    const reader = await api<{ key: KeyJson; secret: string }>('POST', '/v1/keys', {
      body: { name, scopes: ['read'] },
    });
    expect(reader.status).toBe(201);
    const keys = await api<KeyPage>('GET', '/v1/keys?limit=200');
    expect(keys.body.data.filter((k) => k.name === name)).toHaveLength(1);
  });

  test('create, use, list by cursor, revoke; tenant keys are not operator keys', async () => {
    const created = await api<{ key: KeyJson; secret: string }>('POST', '/v1/keys', {
      body: { name: unique('ops '), scopes: ['admin'] },
    });
    expect(created.status).toBe(201);
    expect(created.body.key.tenant_id).toBeNull();
    const { secret } = created.body;
    const usable = await api('GET', '/v1/instances?limit=1', { key: secret });
    expect(usable.status).toBe(200);

    for (let i = 0; i < 2; i++)
      await api('POST', '/v1/keys', { body: { name: unique('ops '), scopes: ['*'] } });
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: KeyPage } = await api<KeyPage>(
        'GET',
        `/v1/keys?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...res.body.data.map((k) => k.id));
      for (const k of res.body.data) expect(k.tenant_id).toBeNull();
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(ids).toContain(created.body.key.id);
    expect(new Set(ids).size).toBe(ids.length);

    const revoked = await api('DELETE', `/v1/keys/${created.body.key.id}`);
    expect(revoked.status).toBe(204);
    const refused = await api('GET', '/v1/instances', { key: secret });
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe('invalid_api_key');

    const tenant = await activeTenant();
    const tenantKey = await newKey(tenant.id, ['proxy:read']);
    expect((await api('DELETE', `/v1/keys/${tenantKey.key.id}`)).status).toBe(404);
    expect((await api('DELETE', '/v1/keys/key_nosuch')).status).toBe(404);
  });

  test('validation: rate_limit is not an operator key field; scopes must be valid', async () => {
    const res = await api<ErrorBody>('POST', '/v1/keys', {
      body: { name: 'x', scopes: ['admin'], rate_limit: { requests_per_minute: 1 } },
    });
    expect(res.status).toBe(422);
    const bad = await api<ErrorBody>('POST', '/v1/keys', { body: { name: 'x', scopes: ['ADMIN NOW'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details?.[0].path).toBe('scopes.0');
  });

  test('an expired operator key → 401 invalid_api_key', async () => {
    const created = await api<{ key: KeyJson; secret: string }>('POST', '/v1/keys', {
      body: { name: 'short', scopes: ['admin'], expires_at: new Date(now() + 60_000).toISOString() },
    });
    await withDb((db) =>
      db
        .update(apiKeys)
        .set({ expiresAt: new Date(now() - 1000) })
        .where(eq(apiKeys.id, created.body.key.id)),
    );
    const res = await api('GET', '/v1/instances', { key: created.body.secret });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('invalid_api_key');
  });
});
