import { expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { verifySignature } from '../../src/core/signing';
import { gatewayFetch, seedTenant } from './helpers';

test('a request for a tenant host is forwarded to its instance, signed, and the answer streamed back', async () => {
  const t = await seedTenant();
  const res = await gatewayFetch(`http://${t.slug}.${t.instance}.localhost/hello?x=1`, {
    headers: { authorization: `Bearer ${t.key}` },
  });
  expect(res.status).toBe(200);
  const echo = (await res.json()) as EchoAnswer;
  expect(echo.path).toBe('/hello?x=1');
  expect(echo.headers['x-tenant-id']).toBe(t.tenantId);
  expect(echo.headers['x-tenant-slug']).toBe(t.slug);
  expect(echo.headers['x-tenant-schema']).toBe(`t_${t.slug}`);
  expect(echo.headers['x-instance']).toBe(t.instance);
  expect(echo.headers['x-gateway-key-id']).toBe(t.keyId);
  expect(echo.headers.authorization).toBeUndefined();
  const valid = await verifySignature(
    t.signingSecret,
    {
      timestamp: Number(echo.headers['x-gateway-timestamp']),
      method: 'GET',
      host: `${t.slug}.${t.instance}.localhost`,
      pathAndQuery: '/hello?x=1',
      tenantId: t.tenantId,
      keyId: t.keyId,
    },
    String(echo.headers['x-gateway-signature']),
  );
  expect(valid).toBe(true);
  expect(res.headers.get('x-request-id')).toBeTruthy();
});

test('no key → 401 missing_api_key; an unknown host → 404 unknown_host', async () => {
  const t = await seedTenant();
  const missing = await gatewayFetch(`http://${t.slug}.localhost/hello`);
  expect(missing.status).toBe(401);
  expect(missing.headers.get('www-authenticate')).toBe('Bearer');
  expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
  const unknown = await gatewayFetch('http://nosuchtenant.localhost/hello');
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_host');
});
