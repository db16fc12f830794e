// Forwarding (DESIGN.md "Data plane"): upstream URL, signature, header rewriting both ways, streamed bodies,
// redirects, request ids and WebSockets, through the worker and the real echo upstream.
import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { verifySignature } from '../../src/core/crypto/signing';
import { api, type TenantJson } from './control-client';
import { gatewayFetch, gatewayFetchB, type SeededTenant, seedTenant, unique, withDb } from './helpers';
import { chunked, randomBytes, sha256, tenantOn } from './proxy-helpers';

function signedOver(t: SeededTenant, echo: EchoAnswer, method: string, host: string, keyId: string | null) {
  return verifySignature(
    t.signingSecret,
    {
      timestamp: Number(echo.headers['x-gateway-timestamp']),
      method,
      host,
      pathAndQuery: echo.path,
      tenantId: t.tenantId,
      keyId,
    },
    String(echo.headers['x-gateway-signature']),
  );
}

describe('upstream URL and signature', () => {
  test('base path + path + query; signed over what the upstream receives, with the instance secret', async () => {
    const t = await tenantOn([`${env.TEST_UPSTREAM_URL}/base`]);
    const host = `${t.slug}.localhost`;
    const res = await gatewayFetch(`http://${host}/v1/items?id=7&q=a%20b`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.key}` },
      body: '{}',
    });
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.path).toBe('/base/v1/items?id=7&q=a%20b');
    expect(echo.method).toBe('PUT');
    expect(await signedOver(t, echo, 'PUT', host, t.keyId)).toBe(true);
    // Any other secret, path or key id does not verify.
    expect(await signedOver({ ...t, signingSecret: 'whsec_other' }, echo, 'PUT', host, t.keyId)).toBe(false);
    expect(await signedOver(t, { ...echo, path: '/v1/items?id=7&q=a%20b' }, 'PUT', host, t.keyId)).toBe(
      false,
    );
    expect(await signedOver(t, echo, 'PUT', host, null)).toBe(false);
    const timestamp = Number(echo.headers['x-gateway-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(5);
  });

  test('the path never climbs above the base path', async () => {
    const t = await tenantOn([`${env.TEST_UPSTREAM_URL}/base`]);
    const auth = { authorization: `Bearer ${t.key}` };
    const cases: [string, string][] = [
      ['/%2e%2e/secret', '/base/secret'],
      ['/a/../../secret', '/base/secret'],
      ['//evil.example/x', '/base//evil.example/x'],
      ['/a\\b', '/base/a/b'],
      ['/files/a%2fb', '/base/files/a%2fb'],
    ];
    for (const [path, expected] of cases) {
      const res = await gatewayFetch(`http://${t.slug}.localhost${path}`, { headers: auth });
      expect(res.status).toBe(200);
      expect(((await res.json()) as EchoAnswer).path).toBe(expected);
    }
    for (const path of ['/..%2fsecret', '/x/..%2F..%2Fsecret', '/..%5csecret', '/a/..;/secret']) {
      const res = await gatewayFetch(`http://${t.slug}.localhost${path}`, { headers: auth });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });

  test('an anonymous request is signed with key id -', async () => {
    const t = await seedTenant();
    await withDb((db) =>
      db.execute(`update tenants set auth = '{"mode":"none","public_paths":[]}' where id = '${t.tenantId}'`),
    );
    const echo = (await (await gatewayFetch(`http://${t.slug}.localhost/anon`)).json()) as EchoAnswer;
    expect(echo.headers['x-gateway-key-id']).toBe('-');
    expect(await signedOver(t, echo, 'GET', `${t.slug}.localhost`, null)).toBe(true);
  });
});

describe("a tenant's own upstream and injected headers", () => {
  test('forwarded to its own backend, signed with the home secret, its headers replacing the client’s; a change reaches another isolate within 1 s', async () => {
    const instance = unique('i');
    const made = await api<{ signing_secret: string }>('POST', '/v1/instances', {
      body: { name: instance, upstreams: [env.TEST_UPSTREAM_URL] },
    });
    const created = await api<{ tenant: TenantJson }>('POST', '/v1/tenants', {
      body: {
        name: unique('own'),
        instance,
        upstream: { upstreams: [env.TEST_REFUSED_UPSTREAM_URL, `${env.TEST_UPSTREAM_URL_B}/own`] },
        inject_headers: { 'X-Smtp-Password': 'pw-1', 'X-Api-Token': 'tok' },
      },
    });
    const { id, slug } = created.body.tenant;
    await api('PATCH', `/v1/tenants/${id}`, { body: { status: 'active' } });
    const key = await api<{ key: { id: string }; secret: string }>('POST', `/v1/tenants/${id}/keys`, {
      body: { name: 'k', scopes: ['proxy:read'] },
    });
    const host = `${slug}.${instance}.localhost`;
    const get = (through: typeof gatewayFetch) =>
      through(`http://${host}/mail?x=1`, {
        headers: { authorization: `Bearer ${key.body.secret}`, 'X-Smtp-Password': 'from-client' },
      }).then(async (res) => ({ status: res.status, echo: (await res.json()) as EchoAnswer }));

    // The first of its upstreams refuses the connection: on to the next, as for an instance.
    const first = await get(gatewayFetch);
    expect(first.status).toBe(200);
    expect(first.echo.upstream).toBe('b');
    expect(first.echo.path).toBe('/own/mail?x=1');
    expect(first.echo.headers['x-smtp-password']).toBe('pw-1');
    expect(first.echo.headers['x-api-token']).toBe('tok');
    const seeded = { tenantId: id, signingSecret: made.body.signing_secret } as SeededTenant;
    expect(await signedOver(seeded, first.echo, 'GET', host, key.body.key.id)).toBe(true);

    // The second isolate has it warm; the change is made through the first.
    expect((await get(gatewayFetchB)).echo.headers['x-smtp-password']).toBe('pw-1');
    expect(
      (
        await api('PATCH', `/v1/tenants/${id}`, {
          body: { upstream: null, inject_headers: { 'X-Smtp-Password': 'pw-2' } },
        })
      ).status,
    ).toBe(200);
    const changedAt = Date.now();
    let seen = await get(gatewayFetchB);
    while (seen.echo.upstream !== 'a' && Date.now() - changedAt < 3_000) seen = await get(gatewayFetchB);
    // One feed poll (≤ 1 s), plus the time the test's own requests take.
    expect(Date.now() - changedAt).toBeLessThanOrEqual(1_300);
    expect(seen.echo.path).toBe('/mail?x=1');
    expect(seen.echo.headers['x-smtp-password']).toBe('pw-2');
    expect(seen.echo.headers['x-api-token']).toBe('tok');
    // Back on its instance, signed with its secret as before.
    expect(await signedOver(seeded, seen.echo, 'GET', host, key.body.key.id)).toBe(true);
  });
});

describe('headers', () => {
  test('hop-by-hop request headers are removed, including those named in Connection', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/h`, {
      headers: {
        authorization: `Bearer ${t.key}`,
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic dXNlcjpwYXNz',
        'proxy-connection': 'keep-alive',
        'x-kept': 'yes',
      },
    });
    const echo = (await res.json()) as EchoAnswer;
    for (const name of [
      'x-client-hop',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
    ]) {
      expect(echo.headers[name], name).toBeUndefined();
    }
    expect(echo.headers['x-kept']).toBe('yes');
  });

  test('hop-by-hop response headers are removed; multi-value headers and every Set-Cookie survive', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/hop`, {
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.status).toBe(200);
    for (const name of ['x-upstream-hop', 'keep-alive', 'proxy-authenticate', 'trailer', 'upgrade']) {
      expect(res.headers.get(name), name).toBeNull();
    }
    expect(res.headers.get('x-multi')).toBe('one, two');
    expect(res.headers.getSetCookie()).toEqual([
      'a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT',
      'b=2; Path=/',
    ]);
    expect(await res.text()).toBe('hop');
  });

  test('client-sent X-Forwarded-*, X-Tenant-*, X-Gateway-* and other identity headers are replaced', async () => {
    const t = await seedTenant();
    const host = `${t.slug}.localhost`;
    const res = await gatewayFetch(`http://${host}/spoof`, {
      headers: {
        authorization: `Bearer ${t.key}`,
        'cf-connecting-ip': '203.0.113.9',
        'x-forwarded-for': '10.0.0.1, 10.0.0.2',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '1',
        forwarded: 'for=10.0.0.1',
        'x-real-ip': '10.0.0.1',
        'x-tenant-id': 'ten_someoneelse',
        'x-tenant-slug': 'someoneelse',
        'x-tenant-schema': 't_someoneelse',
        'x-tenant-role': 'owner',
        'x-instance': 'other',
        'x-gateway-key-id': 'key_admin',
        'x-gateway-scopes': '*',
        'x-gateway-signature': '0'.repeat(64),
        'x-gateway-timestamp': '1',
        'x-http-method-override': 'DELETE',
      },
    });
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.9');
    expect(echo.headers['x-forwarded-host']).toBe(host);
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-tenant-id']).toBe(t.tenantId);
    expect(echo.headers['x-tenant-slug']).toBe(t.slug);
    expect(echo.headers['x-tenant-schema']).toBe(`t_${t.slug}`);
    expect(echo.headers['x-instance']).toBe(t.instance);
    expect(echo.headers['x-gateway-key-id']).toBe(t.keyId);
    expect(echo.headers['x-gateway-scopes']).toBe('proxy:read proxy:write');
    for (const name of [
      'x-forwarded-port',
      'forwarded',
      'x-real-ip',
      'x-tenant-role',
      'x-http-method-override',
    ]) {
      expect(echo.headers[name], name).toBeUndefined();
    }
    expect(await signedOver(t, echo, 'GET', host, t.keyId)).toBe(true);
  });

  test('a sane X-Request-Id is kept and forwarded; anything else is replaced; every answer carries one', async () => {
    const t = await seedTenant();
    const auth = { authorization: `Bearer ${t.key}` };
    const kept = await gatewayFetch(`http://${t.slug}.localhost/r`, {
      headers: { ...auth, 'x-request-id': 'client-id_1.2' },
    });
    expect(kept.headers.get('x-request-id')).toBe('client-id_1.2');
    expect(((await kept.json()) as EchoAnswer).headers['x-request-id']).toBe('client-id_1.2');
    for (const bad of ['a'.repeat(129), 'has space', 'semi;colon', '']) {
      const res = await gatewayFetch(`http://${t.slug}.localhost/r`, {
        headers: { ...auth, 'x-request-id': bad },
      });
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9A-Z]{26}$/);
      expect(((await res.json()) as EchoAnswer).headers['x-request-id']).toBe(id);
    }
    // Errors too: unknown host, missing key, upstream status passed through.
    const errors = [
      await gatewayFetch('http://nosuchtenant.localhost/r', { headers: { 'x-request-id': 'e1' } }),
      await gatewayFetch(`http://${t.slug}.localhost/r`, { headers: { 'x-request-id': 'e2' } }),
      await gatewayFetch(`http://${t.slug}.localhost/status/503`, {
        headers: { ...auth, 'x-request-id': 'e3' },
      }),
    ];
    expect(errors.map((r) => r.headers.get('x-request-id'))).toEqual(['e1', 'e2', 'e3']);
    expect(errors.map((r) => r.status)).toEqual([404, 401, 503]);
    for (const res of errors) await res.body?.cancel();
  });
});

describe('bodies, redirects, upgrades', () => {
  test('1 MB request body arrives intact with its Content-Length', async () => {
    const t = await seedTenant();
    const body = randomBytes(1024 * 1024);
    const res = await gatewayFetch(`http://${t.slug}.localhost/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/octet-stream' },
      body,
    });
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.body_bytes).toBe(body.length);
    expect(echo.body_sha256).toBe(await sha256(body));
    expect(echo.headers['content-length']).toBe(String(body.length));
  });

  test('1 MB streamed both ways: a chunked upload reflected back is byte-identical', async () => {
    const t = await seedTenant();
    const body = randomBytes(1024 * 1024);
    const res = await gatewayFetch(`http://${t.slug}.localhost/reflect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}` },
      body: chunked(body, 16 * 1024),
    });
    expect(res.status).toBe(200);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(await sha256(back)).toBe(await sha256(body));
  });

  test('a 1 MB response body arrives whole', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/bytes/1048576`, {
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.headers.get('content-length')).toBe('1048576');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(1048576);
    expect(await sha256(bytes)).toBe(await sha256(new Uint8Array(1048576).fill(120)));
  });

  test('redirects are passed back, not followed', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/redirect`, {
      headers: { authorization: `Bearer ${t.key}` },
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
  });

  test('upstream statuses pass through', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/status/418`, {
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.status).toBe(418);
    expect(res.headers.get('x-upstream')).toBe('a');
    expect(((await res.json()) as EchoAnswer).path).toBe('/status/418');
  });

  test('an upstream that drops the connection mid-body: the client sees the body fail, not a complete one', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/reset`, {
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  test('a WebSocket upgrade passes through and echoes', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/ws`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${t.key}`, 'x-request-id': 'ws-1' },
    });
    expect(res.status).toBe(101);
    expect(res.headers.get('x-request-id')).toBe('ws-1');
    const ws = res.webSocket;
    if (!ws) throw new Error('no WebSocket in the answer');
    ws.accept();
    const received: string[] = [];
    const done = new Promise<void>((resolve) => {
      ws.addEventListener('message', (event) => {
        received.push(String(event.data));
        if (received.length === 2) resolve();
      });
    });
    ws.send('hello');
    ws.send('tenant');
    await done;
    expect(received).toEqual(['hello', 'tenant']);
    ws.close(1000, 'done');
  });

  test('a WebSocket upgrade needs a key like any request', async () => {
    const t = await seedTenant();
    const res = await gatewayFetch(`http://${t.slug}.localhost/ws`, { headers: { upgrade: 'websocket' } });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });
});
