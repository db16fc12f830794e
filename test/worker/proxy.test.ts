// Data plane, host resolution, tenant status and key checks (DESIGN.md "Host resolution", "Data plane"),
// through the worker and the real echo upstream.
import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { createApp } from '../../src/app';
import { newId } from '../../src/core/crypto/ids';
import { seal } from '../../src/core/crypto/seal';
import { generateSecret, keyPrefix, sha256Hex } from '../../src/core/crypto/secrets';
import { verifySignature } from '../../src/core/crypto/signing';
import {
  apiKeys,
  domains,
  instances,
  type TenantAuth,
  type TenantRoute,
  tenantInstances,
  tenants,
} from '../../src/db/schema';
import { invalidateTenant } from '../../src/edge/resolve';
import { advanceClock, now } from './clock';
import { gatewayFetch, type SeededTenant, seedTenant, unique, withDb } from './helpers';

type ErrorBody = { error: { code: string; message: string; request_id: string } };

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as ErrorBody).error.code;
}

function bearer(key: string) {
  return { authorization: `Bearer ${key}` };
}

async function addKey(tenantId: string, fields: { scopes: string[]; expiresAt?: Date; revokedAt?: Date }) {
  const secret = generateSecret('gw_', 40);
  const id = newId('key');
  const keyHash = await sha256Hex(secret);
  await withDb((db) =>
    db.insert(apiKeys).values({
      id,
      tenantId,
      name: 'extra',
      keyHash,
      prefix: keyPrefix(secret),
      scopes: fields.scopes,
      expiresAt: fields.expiresAt,
      revokedAt: fields.revokedAt,
    }),
  );
  return { id, secret };
}

/** A second instance, on the B upstream. */
async function addInstance(): Promise<{ id: string; name: string }> {
  const id = newId('ins');
  const name = unique('i');
  await withDb(async (db) =>
    db.insert(instances).values({
      id,
      name,
      upstreams: [env.TEST_UPSTREAM_URL_B],
      signingSecretSealed: await seal(generateSecret('whsec_', 40), env.SEALING_KEY),
    }),
  );
  return { id, name };
}

async function setTenant(t: SeededTenant, fields: { auth?: TenantAuth; routes?: TenantRoute[] }) {
  await withDb((db) =>
    db
      .update(tenants)
      .set({ ...fields, version: sql`${tenants.version} + 1` })
      .where(eq(tenants.id, t.tenantId)),
  );
  invalidateTenant(t.tenantId);
}

const ctx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

describe('host resolution', () => {
  test('{label}.{base} reaches the home instance, {label}.{instance}.{base} the named one', async () => {
    const t = await seedTenant();
    const short = await gatewayFetch(`http://${t.slug}.localhost/a`, { headers: bearer(t.key) });
    expect(short.status).toBe(200);
    const echo = (await short.json()) as EchoAnswer;
    expect(echo.headers['x-tenant-id']).toBe(t.tenantId);
    expect(echo.headers['x-instance']).toBe(t.instance);
    expect(echo.headers['x-forwarded-host']).toBe(`${t.slug}.localhost`);
    const full = await gatewayFetch(`http://${t.slug}.${t.instance}.localhost/a`, { headers: bearer(t.key) });
    expect(full.status).toBe(200);
  });

  test('the host is normalised: case, port, trailing dot; the label loses its non-alphanumerics', async () => {
    const t = await seedTenant();
    const label = `${t.slug.slice(0, 3)}-${t.slug.slice(3)}`.toUpperCase();
    const res = await gatewayFetch(`http://${label}.${t.instance.toUpperCase()}.LOCALHOST.:8787/n`, {
      headers: bearer(t.key),
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.headers['x-tenant-id']).toBe(t.tenantId);
    // The signed host is the normalised one.
    const host = `${label}.${t.instance}.localhost`.toLowerCase();
    expect(echo.headers['x-forwarded-host']).toBe(host);
    const valid = await verifySignature(
      t.signingSecret,
      {
        timestamp: Number(echo.headers['x-gateway-timestamp']),
        method: 'GET',
        host,
        pathAndQuery: '/n',
        tenantId: t.tenantId,
        keyId: t.keyId,
      },
      String(echo.headers['x-gateway-signature']),
    );
    expect(valid).toBe(true);
  });

  test('an instance the tenant is not placed on → 404 unknown_host, even when that instance exists', async () => {
    const t = await seedTenant();
    const other = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.${other.instance}.localhost/a`, {
      headers: bearer(t.key),
    });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('unknown_host');
    const none = await gatewayFetch(`http://${t.slug}.nosuchinstance.localhost/a`, {
      headers: bearer(t.key),
    });
    expect(await errorCode(none)).toBe('unknown_host');
  });

  test('deeper names match nothing', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://a.b.${t.slug}.${t.instance}.localhost/a`, {
      headers: bearer(t.key),
    });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('unknown_host');
  });

  test('a custom domain reaches its tenant: the home instance, or the instance the domain names', async () => {
    const t = await seedTenant();
    const b = await addInstance();
    const home = `${unique('api')}.example.com`;
    const pinned = `${unique('eu')}.example.org`;
    await withDb(async (db) => {
      await db.insert(tenantInstances).values({ tenantId: t.tenantId, instanceId: b.id });
      await db.insert(domains).values([
        { hostname: home, tenantId: t.tenantId },
        { hostname: pinned, tenantId: t.tenantId, instanceId: b.id },
      ]);
    });
    invalidateTenant(t.tenantId);
    const viaHome = (await (
      await gatewayFetch(`http://${home}/x`, { headers: bearer(t.key) })
    ).json()) as EchoAnswer;
    expect(viaHome.upstream).toBe('a');
    expect(viaHome.headers['x-instance']).toBe(t.instance);
    expect(viaHome.headers['x-tenant-id']).toBe(t.tenantId);
    const viaPinned = (await (
      await gatewayFetch(`http://${pinned.toUpperCase()}/x`, { headers: bearer(t.key) })
    ).json()) as EchoAnswer;
    expect(viaPinned.upstream).toBe('b');
    expect(viaPinned.headers['x-instance']).toBe(b.name);
  });

  test('several base domains', async () => {
    const t = await seedTenant();
    const app = createApp();
    const configured = { ...env, BASE_DOMAINS: 'gw.example.net, localhost' };
    for (const host of [`${t.slug}.gw.example.net`, `${t.slug}.${t.instance}.gw.example.net`]) {
      const res = await app.fetch(
        new Request(`http://${host}/x`, { headers: bearer(t.key) }),
        configured,
        ctx,
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as EchoAnswer).headers['x-tenant-id']).toBe(t.tenantId);
    }
  });

  test('a service host reaches that service of the instance, with X-Gateway-Service; one it lacks → 404', async () => {
    const t = await seedTenant();
    await withDb((db) =>
      db
        .update(instances)
        .set({ services: { api: { upstreams: [`${env.TEST_UPSTREAM_URL_B}/v2`], timeout_ms: 5000 } } })
        .where(eq(instances.name, t.instance)),
    );
    invalidateTenant(t.tenantId);
    const through = async (host: string) => {
      const res = await gatewayFetch(`http://${host}/x?y=1`, {
        headers: { ...bearer(t.key), 'x-gateway-service': 'spoofed' },
      });
      if (res.status !== 200) return { status: res.status, code: await errorCode(res) };
      const echo = (await res.json()) as EchoAnswer;
      const signed = await verifySignature(
        t.signingSecret,
        {
          timestamp: Number(echo.headers['x-gateway-timestamp']),
          method: 'GET',
          host,
          pathAndQuery: echo.path,
          tenantId: t.tenantId,
          keyId: t.keyId,
        },
        String(echo.headers['x-gateway-signature']),
      );
      return { upstream: echo.upstream, path: echo.path, service: echo.headers['x-gateway-service'], signed };
    };
    // api.localhost nests in localhost: the longer base domain wins, so it is the api service, not instance `api`.
    const api = { upstream: 'b', path: '/v2/x?y=1', service: 'api', signed: true };
    expect(await through(`${t.slug}.${t.instance}.api.localhost`)).toEqual(api);
    expect(await through(`${t.slug}.api.localhost`)).toEqual(api);
    const own = { upstream: 'a', path: '/x?y=1', service: 'default', signed: true };
    expect(await through(`${t.slug}.${t.instance}.localhost`)).toEqual(own);
    expect(await through(`${t.slug}.${t.instance}.app.localhost`)).toEqual({
      status: 404,
      code: 'unknown_host',
    });
    // A custom domain that names a service.
    const hostname = `${unique('svc')}.example.com`;
    await withDb((db) => db.insert(domains).values({ hostname, tenantId: t.tenantId, service: 'api' }));
    invalidateTenant(t.tenantId);
    expect(await through(hostname)).toEqual(api);
    // A tenant's own backend replaces the `default` service only: `api` still goes to the instance's.
    const upstream = { upstreams: [env.TEST_UPSTREAM_URL_B], timeout_ms: 5000 };
    await withDb((db) => db.update(tenants).set({ upstream }).where(eq(tenants.id, t.tenantId)));
    invalidateTenant(t.tenantId);
    expect(await through(`${t.slug}.${t.instance}.localhost`)).toEqual({ ...own, upstream: 'b' });
    expect(await through(`${t.slug}.api.localhost`)).toEqual(api);
  });

  test('a BASE_DOMAINS entry whose service is not a DNS label: 500, nothing routed on part of it', async () => {
    const t = await seedTenant();
    const broken = { ...env, BASE_DOMAINS: 'localhost,app.localhost=Gui_1' };
    const res = await createApp().fetch(new Request(`http://${t.slug}.localhost/x`), broken, ctx);
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe('internal_error');
  });

  test('UNKNOWN_HOST=default routes unknown hosts to tenant public, 404 while public has no instance', async () => {
    const app = createApp();
    const host = `${unique('nobody')}.localhost`;
    const rejected = await app.fetch(new Request(`http://${host}/x`), env, ctx);
    expect(await errorCode(rejected)).toBe('unknown_host');
    const defaulted = { ...env, UNKNOWN_HOST: 'default' };
    const noInstance = await app.fetch(new Request(`http://${unique('nobody')}.localhost/x`), defaulted, ctx);
    expect(noInstance.status).toBe(404);
    expect(await errorCode(noInstance)).toBe('unknown_host');
    // Place `public` for a moment: the unknown host now reaches it (and its required key check).
    const t = await seedTenant();
    const [{ id: instanceId }] = await withDb((db) =>
      db.select({ id: instances.id }).from(instances).where(eq(instances.name, t.instance)),
    );
    try {
      await withDb(async (db) => {
        await db.insert(tenantInstances).values({ tenantId: 'ten_public', instanceId });
        await db.update(tenants).set({ homeInstanceId: instanceId }).where(eq(tenants.id, 'ten_public'));
      });
      invalidateTenant('ten_public');
      const res = await app.fetch(new Request(`http://${unique('nobody')}.localhost/x`), defaulted, ctx);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('missing_api_key');
    } finally {
      await withDb(async (db) => {
        await db.update(tenants).set({ homeInstanceId: null }).where(eq(tenants.id, 'ten_public'));
        await db.delete(tenantInstances).where(eq(tenantInstances.tenantId, 'ten_public'));
      });
      invalidateTenant('ten_public');
    }
  });
});

describe('malformed requests are refused before any lookup', () => {
  test('an invalid host → 400 invalid_host, with a request id', async () => {
    const res = await gatewayFetch('http://bad_host.localhost/x');
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('invalid_host');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  test('several Host headers → 400 invalid_host', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/x`, {
      headers: { host: `${t.slug}.localhost, other.localhost`, ...bearer(t.key) },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('invalid_host');
  });

  test('Content-Length and Transfer-Encoding together → 400 bad_request', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/x`, {
      method: 'POST',
      headers: { 'content-length': '5', 'transfer-encoding': 'chunked', ...bearer(t.key) },
      body: 'hello',
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('bad_request');
  });
});

describe('tenant status', () => {
  test('suspended → 403 tenant_suspended', async () => {
    const t = await seedTenant({ status: 'suspended' });
    const res = await gatewayFetch(`http://${t.slug}.localhost/x`, { headers: bearer(t.key) });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('tenant_suspended');
  });

  test('pending: 409 tenant_not_installed for API clients, an HTML page for browsers', async () => {
    const t = await seedTenant({ status: 'pending' });
    const api = await gatewayFetch(`http://${t.slug}.localhost/x`, {
      headers: { accept: 'application/json' },
    });
    expect(api.status).toBe(409);
    expect(await errorCode(api)).toBe('tenant_not_installed');
    const browser = await gatewayFetch(`http://${t.slug}.localhost/`, {
      headers: { accept: 'text/html,application/xhtml+xml;q=0.9', 'x-request-id': 'page-1' },
    });
    expect(browser.status).toBe(409);
    expect(browser.headers.get('content-type')).toMatch(/^text\/html/);
    expect(browser.headers.get('x-request-id')).toBe('page-1');
    expect(browser.headers.get('x-upstream')).toBeNull();
    await browser.body?.cancel();
  });

  test('/_gateway/* is the gateway’s own and never forwarded, whatever the tenant’s status', async () => {
    for (const status of ['active', 'pending', 'suspended'] as const) {
      const t = await seedTenant({ status });
      for (const path of ['/_gateway', '/_gateway/', '/_gateway/anything?x=1']) {
        const res = await gatewayFetch(`http://${t.slug}.localhost${path}`, {
          headers: bearer(t.key),
          redirect: 'manual',
        });
        expect(res.headers.get('x-upstream'), path).toBeNull();
        expect(await res.text()).not.toContain('"upstream":"a"');
      }
    }
  });
});

describe('keys and scopes', () => {
  test('Bearer and X-API-Key are both accepted; the header that carried the key is not forwarded', async () => {
    const t = await seedTenant();
    const viaBearer = (await (
      await gatewayFetch(`http://${t.slug}.localhost/k`, {
        headers: { ...bearer(t.key), 'x-api-key': 'other' },
      })
    ).json()) as EchoAnswer;
    expect(viaBearer.headers.authorization).toBeUndefined();
    expect(viaBearer.headers['x-gateway-key-id']).toBe(t.keyId);
    expect(viaBearer.headers['x-gateway-scopes']).toBe('proxy:read proxy:write');
    const viaHeader = (await (
      await gatewayFetch(`http://${t.slug}.localhost/k`, {
        headers: { 'x-api-key': t.key, authorization: 'Basic dXNlcjpwYXNz' },
      })
    ).json()) as EchoAnswer;
    expect(viaHeader.headers['x-api-key']).toBeUndefined();
    expect(viaHeader.headers['x-gateway-key-id']).toBe(t.keyId);
  });

  test('a key in the query string is not read', async () => {
    const t = await seedTenant();
    for (const query of [`api_key=${t.key}`, `key=${t.key}`, `access_token=${t.key}`]) {
      const res = await gatewayFetch(`http://${t.slug}.localhost/q?${query}`);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('missing_api_key');
    }
  });

  test('unknown, revoked, expired and other tenants’ keys → 401 invalid_api_key, no-store', async () => {
    const t = await seedTenant();
    const other = await seedTenant();
    const revoked = await addKey(t.tenantId, { scopes: ['*'], revokedAt: new Date() });
    const expired = await addKey(t.tenantId, { scopes: ['*'], expiresAt: new Date(now() - 1000) });
    for (const key of [
      `gw_${'x'.repeat(40)}`,
      other.key,
      revoked.secret,
      expired.secret,
      t.key.slice(0, -1),
    ]) {
      const res = await gatewayFetch(`http://${t.slug}.localhost/k`, { headers: bearer(key) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await errorCode(res)).toBe('invalid_api_key');
    }
  });

  test('a key that expires while its tenant is cached stops working at its expiry', async () => {
    const t = await seedTenant();
    const soon = await addKey(t.tenantId, { scopes: ['*'], expiresAt: new Date(now() + 1500) });
    const before = await gatewayFetch(`http://${t.slug}.localhost/k`, { headers: bearer(soon.secret) });
    expect(before.status).toBe(200);
    // Past the expiry on the gateway's clock, with the tenant still cached.
    advanceClock(1700);
    const after = await gatewayFetch(`http://${t.slug}.localhost/k`, { headers: bearer(soon.secret) });
    expect(after.status).toBe(401);
  });

  test('default scopes: proxy:read for GET/HEAD/OPTIONS, proxy:write otherwise; 403 with no-store', async () => {
    const t = await seedTenant({ scopes: ['proxy:read'] });
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const res = await gatewayFetch(`http://${t.slug}.localhost/r`, { method, headers: bearer(t.key) });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    const write = await gatewayFetch(`http://${t.slug}.localhost/r`, {
      method: 'POST',
      headers: bearer(t.key),
      body: '{}',
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('cache-control')).toBe('no-store');
    const body = (await write.json()) as ErrorBody;
    expect(body.error.code).toBe('insufficient_scope');
    expect(body.error.message).toContain('proxy:write');
  });

  test('the first matching route rule gives the scope; `*` grants everything', async () => {
    const t = await seedTenant();
    await setTenant(t, {
      routes: [
        { methods: ['POST'], path: '/emails/*', scope: 'send' },
        { path: '/admin/*', scope: 'admin:manage' },
        { path: '/*', scope: 'proxy:read' },
      ],
    });
    const sender = await addKey(t.tenantId, { scopes: ['send'] });
    const all = await addKey(t.tenantId, { scopes: ['*'] });
    const post = (key: string, path: string) =>
      gatewayFetch(`http://${t.slug}.localhost${path}`, { method: 'POST', headers: bearer(key), body: 'x' });
    expect((await post(t.key, '/emails/1')).status).toBe(403);
    // An encoded path does not dodge the rule.
    expect((await post(t.key, '/e%6Dails/1')).status).toBe(403);
    expect((await post(sender.secret, '/emails/1')).status).toBe(200);
    // The catch-all rule makes every other path need proxy:read, whatever the method.
    expect((await post(sender.secret, '/other')).status).toBe(403);
    expect((await post(t.key, '/other')).status).toBe(200);
    const admin = await gatewayFetch(`http://${t.slug}.localhost/admin/users`, { headers: bearer(t.key) });
    expect(admin.status).toBe(403);
    for (const path of ['/emails/1', '/admin/users', '/other']) {
      expect((await post(all.secret, path)).status).toBe(200);
    }
  });

  test('public_paths need no key (exact or trailing /*); everything else still does', async () => {
    const t = await seedTenant();
    await setTenant(t, { auth: { mode: 'required', public_paths: ['/health', '/static/*'] } });
    for (const path of ['/health', '/static', '/static/app.js']) {
      const res = await gatewayFetch(`http://${t.slug}.localhost${path}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as EchoAnswer).headers['x-gateway-key-id']).toBe('-');
    }
    for (const path of ['/healthz', '/health/x', '/staticfoo', '/static%2F..%2Fadmin']) {
      const res = await gatewayFetch(`http://${t.slug}.localhost${path}`);
      expect(res.status).toBe(401);
    }
    // A key presented on a public path is still checked, and identifies the caller when valid.
    const wrong = await gatewayFetch(`http://${t.slug}.localhost/health`, { headers: bearer('gw_wrong') });
    expect(await errorCode(wrong)).toBe('invalid_api_key');
    const right = await gatewayFetch(`http://${t.slug}.localhost/health`, { headers: bearer(t.key) });
    expect(((await right.json()) as EchoAnswer).headers['x-gateway-key-id']).toBe(t.keyId);
  });

  test('auth mode optional: no key passes anonymously, a wrong key is refused', async () => {
    const t = await seedTenant();
    await setTenant(t, { auth: { mode: 'optional', public_paths: [] } });
    const anonymous = await gatewayFetch(`http://${t.slug}.localhost/o`, { method: 'POST', body: 'x' });
    expect(anonymous.status).toBe(200);
    const echo = (await anonymous.json()) as EchoAnswer;
    expect(echo.headers['x-gateway-key-id']).toBe('-');
    expect(echo.headers['x-gateway-scopes']).toBe('');
    const wrong = await gatewayFetch(`http://${t.slug}.localhost/o`, { headers: bearer('gw_wrong') });
    expect(wrong.status).toBe(401);
    const keyed = (await (
      await gatewayFetch(`http://${t.slug}.localhost/o`, { headers: bearer(t.key) })
    ).json()) as EchoAnswer;
    expect(keyed.headers['x-gateway-key-id']).toBe(t.keyId);
  });

  test('auth mode none: no key is read, the backend’s own Authorization passes through', async () => {
    const t = await seedTenant();
    await setTenant(t, { auth: { mode: 'none', public_paths: [] } });
    const res = await gatewayFetch(`http://${t.slug}.localhost/n`, {
      headers: { authorization: 'Bearer backend-session-token' },
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.headers.authorization).toBe('Bearer backend-session-token');
    expect(echo.headers['x-gateway-key-id']).toBe('-');
  });
});
