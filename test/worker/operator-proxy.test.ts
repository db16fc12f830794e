// `ANY /v1/tenants/:tenant/proxy/*`: operators reach a tenant's backend as that tenant, signed as `op:{key
// id}`, marked `X-Gateway-Operator: 1`, never limited, each access audited; through the real echo upstream.
import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { verifySignature } from '../../src/core/crypto/signing';
import { api, newKey } from './control-client';
import { gatewayFetch } from './helpers';
import { tenantOn } from './proxy-helpers';

type Tenant = Awaited<ReturnType<typeof tenantOn>>;

function proxy(t: Tenant, path: string, init: RequestInit & { key?: string } = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${init.key ?? env.ADMIN_API_KEY}`);
  return gatewayFetch(`http://control.localhost/v1/tenants/${t.slug}/proxy${path}`, { ...init, headers });
}

function signedAs(t: Tenant, echo: EchoAnswer, method: string, keyId: string) {
  return verifySignature(
    t.signingSecret,
    {
      timestamp: Number(echo.headers['x-gateway-timestamp']),
      method,
      host: `${t.slug}.localhost`,
      pathAndQuery: echo.path,
      tenantId: t.tenantId,
      keyId,
    },
    String(echo.headers['x-gateway-signature']),
  );
}

describe('operator proxy', () => {
  test('forwards as the tenant, signed as op:admin, its body streamed, spoofed gateway headers replaced', async () => {
    const t = await tenantOn([env.TEST_UPSTREAM_URL]);
    const res = await proxy(t, '/v1/items?id=7&q=a%20b', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-gateway-key-id': 'key_forged', 'x-gateway-operator': '0' },
      body: 'operator body',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.path).toBe('/v1/items?id=7&q=a%20b');
    expect(echo.method).toBe('POST');
    expect(echo.body_bytes).toBe('operator body'.length);
    expect(echo.headers['x-gateway-key-id']).toBe('op:admin');
    expect(echo.headers['x-gateway-operator']).toBe('1');
    expect(echo.headers['x-tenant-id']).toBe(t.tenantId);
    expect(echo.headers.authorization).toBeUndefined();
    expect(await signedAs(t, echo, 'POST', 'op:admin')).toBe(true);
    expect(await signedAs(t, echo, 'POST', t.keyId)).toBe(false);
  });

  test('an operator key signs as op:{its id}; a limited tenant is not limited for operators; audited', async () => {
    const t = await tenantOn([env.TEST_UPSTREAM_URL]);
    await api('PATCH', `/v1/tenants/${t.tenantId}`, {
      body: { rate_limit: { requests_per_minute: 1, requests_per_day: null } },
    });
    const made = await api<{ key: { id: string }; secret: string }>('POST', '/v1/keys', {
      body: { name: 'support', scopes: ['admin'] },
    });
    for (let i = 0; i < 3; i++) {
      const res = await proxy(t, `/support/${i}`, { key: made.body.secret });
      expect(res.status).toBe(200);
      const echo = (await res.json()) as EchoAnswer;
      expect(echo.headers['x-gateway-key-id']).toBe(`op:${made.body.key.id}`);
      expect(await signedAs(t, echo, 'GET', `op:${made.body.key.id}`)).toBe(true);
    }
    // The tenant's own traffic is limited as before: one a minute.
    const own = async () => (await gatewayFetch(`http://${t.slug}.localhost/x`, { headers: t.auth })).status;
    expect([await own(), await own()]).toEqual([200, 429]);

    const audit = await api<{
      data: { action: string; actor: string; after: { method: string; path: string } }[];
    }>('GET', `/v1/audit?tenant=${t.tenantId}&limit=20`);
    const accesses = audit.body.data.filter((row) => row.action === 'proxy');
    expect(accesses.map((row) => [row.actor, row.after.method, row.after.path])).toEqual(
      [2, 1, 0].map((i) => [made.body.key.id, 'GET', `/support/${i}`]),
    );
  });

  test('operators only: a tenant key gets 403, an unknown tenant 404, no key 401', async () => {
    const t = await tenantOn([env.TEST_UPSTREAM_URL]);
    const { secret } = await newKey(t.tenantId, ['tenant:admin']);
    expect((await proxy(t, '/x', { key: secret })).status).toBe(403);
    expect((await proxy({ ...t, slug: 'nosuchtenant' }, '/x')).status).toBe(404);
    const anonymous = await gatewayFetch(`http://control.localhost/v1/tenants/${t.slug}/proxy/x`);
    expect(anonymous.status).toBe(401);
  });
});
