// Hostile input (DESIGN.md "Input rules"): what Postgres would refuse (NUL), what hides what a name says
// (bidi overrides), ambiguous JSON (a key twice) and values that could break a later read (deep settings)
// are refused with a documented 4xx, never a 500, and nothing is stored.
import { env, exports } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { api, type ErrorBody, errorCode, newInstance, newTenant } from './control-client';
import { unique } from './helpers';

const refusal = (answer: { status: number; body: unknown }) => {
  const body = answer.body as ErrorBody;
  return { status: answer.status, code: body?.error?.code, paths: body?.error?.details?.map((d) => d.path) };
};

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}

describe('input rules', () => {
  test('a NUL or another control character in any stored string → 422 naming the field, nothing stored', async () => {
    const instance = await newInstance();
    const name = unique('nul ');
    const answers = [
      await api('POST', '/v1/tenants', { body: { name: `${name}\u0000`, instance } }),
      await api('POST', '/v1/tenants', { body: { name, instance, settings: { plan: 'pro\u0000' } } }),
      await api('POST', '/v1/tenants', { body: { name, instance, settings: { 'k\u0000': 1 } } }),
      await api('POST', '/v1/instances', { body: { name: unique('i'), upstreams: ['http://a\u0001.test'] } }),
      await api('POST', '/v1/keys', { body: { name: 'ops\u001b[31m', scopes: ['read'] } }),
    ];
    expect(answers.map(refusal)).toEqual([
      { status: 422, code: 'validation_failed', paths: ['name'] },
      { status: 422, code: 'validation_failed', paths: ['settings.plan'] },
      { status: 422, code: 'validation_failed', paths: ['settings.k\u0000'] },
      { status: 422, code: 'validation_failed', paths: ['upstreams.0'] },
      { status: 422, code: 'validation_failed', paths: ['name'] },
    ]);
    const { tenant } = await newTenant({ instance });
    const key = await api('POST', `/v1/tenants/${tenant.id}/keys`, {
      body: { name: 'a\u0000b', scopes: ['proxy:read'] },
    });
    expect(refusal(key)).toEqual({ status: 422, code: 'validation_failed', paths: ['name'] });
    const listed = await api<{ data: unknown[] }>('GET', `/v1/tenants?q=${encodeURIComponent(name)}`);
    expect(listed.body.data).toEqual([]);
  });

  test('bidi overrides in a name → 422', async () => {
    const instance = await newInstance();
    const answer = await api('POST', '/v1/tenants', { body: { name: 'Acme \u202egnp.exe', instance } });
    expect(refusal(answer)).toEqual({ status: 422, code: 'validation_failed', paths: ['name'] });
  });

  test('a key twice in one JSON object → 400 bad_request: the later scopes never win', async () => {
    const { tenant } = await newTenant();
    const body = '{"name":"dup","scopes":["proxy:read"],"scopes":["*"]}';
    const answer = await api('POST', `/v1/tenants/${tenant.id}/keys`, { body });
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('bad_request');
    const keys = await api<{ data: { name: string }[] }>('GET', `/v1/tenants/${tenant.id}/keys`);
    expect(keys.body.data.map((k) => k.name)).not.toContain('dup');
  });

  test('settings nested deeper than 16 levels → 422, and the export stays readable for everyone', async () => {
    const instance = await newInstance();
    const fine = await api('POST', '/v1/tenants', {
      body: { name: unique('deep '), instance, settings: nested(15) as Record<string, unknown> },
    });
    expect(fine.status).toBe(201);
    for (const depth of [17, 2_000]) {
      const answer = await api('POST', '/v1/tenants', {
        body: { name: unique('deep '), instance, settings: nested(depth) as Record<string, unknown> },
      });
      expect(answer.status, `depth ${depth}`).toBe(422);
      expect(errorCode(answer)).toBe('validation_failed');
    }
    const yaml = await exports.default.fetch(
      new Request('http://control.localhost/v1/config', {
        headers: {
          authorization: `Bearer ${env.ADMIN_API_KEY}`,
          accept: 'application/yaml',
        },
      }),
    );
    expect(yaml.status).toBe(200);
    await yaml.body?.cancel();
  });

  test('a configuration file holding a NUL, as YAML or JSON → 422, nothing applied', async () => {
    const name = unique('i');
    for (const [type, text] of [
      ['application/yaml', `instances:\n  - name: ${name}\n    upstreams: ["http://up\\0.test"]\n`],
      [
        'application/json',
        JSON.stringify({ instances: [{ name: `${name}\u0000`, upstreams: ['http://a.test'] }] }),
      ],
    ]) {
      const answer = await api('PUT', '/v1/config', { body: text, headers: { 'content-type': type } });
      expect(refusal(answer).status, type).toBe(422);
      expect(errorCode(answer)).toBe('validation_failed');
    }
    expect((await api('GET', `/v1/instances/${name}`)).status).toBe(404);
  });

  test('a hostname with a port, a path or a user part → 422, never stored trimmed', async () => {
    const { tenant } = await newTenant();
    const base = `${unique('h')}.test`;
    for (const hostname of [`${base}:8080`, `${base}/x`, `user@${base}`]) {
      const answer = await api('POST', `/v1/tenants/${tenant.id}/domains`, { body: { hostname } });
      expect(refusal(answer), hostname).toEqual({
        status: 422,
        code: 'validation_failed',
        paths: ['hostname'],
      });
    }
    const domains = await api<{ data: { hostname: string }[] }>('GET', `/v1/tenants/${tenant.id}/domains`);
    expect(domains.body.data).toEqual([]);
    const plain = await api('POST', `/v1/tenants/${tenant.id}/domains`, { body: { hostname: `${base}.` } });
    expect(plain.status).toBe(201);
  });

  test('a known path asked with another method → 405 method_not_allowed with Allow; an unknown one → 404', async () => {
    const instance = await newInstance();
    for (const [method, path, allow] of [
      ['PUT', '/v1/instances', 'GET, HEAD, POST'],
      ['POST', `/v1/instances/${instance}`, 'DELETE, GET, HEAD, PATCH'],
      ['DELETE', '/v1/tenants', 'GET, HEAD, POST'],
    ]) {
      const answer = await api(method, path, { body: method === 'DELETE' ? undefined : {} });
      expect(refusal(answer), `${method} ${path}`).toMatchObject({ status: 405, code: 'method_not_allowed' });
      expect(answer.headers.get('allow')).toBe(allow);
    }
    const unknown = await api('GET', '/v1/nothing-here');
    expect(refusal(unknown)).toMatchObject({ status: 404, code: 'not_found' });
    expect(unknown.headers.get('allow')).toBeNull();
  });
});
