// Battery cases 23, 24, 26, 27, 28 (issue 10, DESIGN.md "Data plane" forwarding): what crosses the gateway
// in either direction, checked against the real echo upstream, with fast-check where the hostile input is
// open-ended (header names, path encodings, cookie lists).
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../../scripts/lib/echo-answer';
import { verifySignature } from '../../../src/core/crypto/signing';
import { instances } from '../../../src/db/schema';
import { gatewayFetch, type SeededTenant, seedTenant, withDb } from '../../worker/helpers';

function send(t: SeededTenant, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${t.key}`);
  return gatewayFetch(`http://${t.slug}.localhost${path}`, { ...init, headers, redirect: 'manual' });
}

async function echoOf(res: Response): Promise<EchoAnswer> {
  expect(res.status).toBe(200);
  return (await res.json()) as EchoAnswer;
}

// Field names no runtime or framework gives a meaning of its own, so only the gateway can remove them.
const fieldName = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,14}$/)
  .map((name) => `x-${name}`)
  .filter((name) => !/^x-(forwarded|tenant|gateway|request-id|real-ip|instance|http-method)/.test(name));
const fieldValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const mixedCase = (name: string, flips: boolean[]) =>
  [...name].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch)).join('');

// RFC 9110 §7.6.1 and the legacy ones, in both directions.
const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate'];

describe('battery: forwarding', () => {
  test('23 hop-by-hop headers, including any named in Connection, are removed both ways', async () => {
    const t = await seedTenant();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fieldName, { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fieldValue,
        async (named, flips, value) => {
          const connection = ['keep-alive', ...named.map((n) => mixedCase(n, flips))].join(' ,');
          const request = new Headers({ connection, 'x-kept': 'kept', 'proxy-authorization': 'Basic eDp5' });
          for (const name of [...named, ...HOP_BY_HOP]) request.set(name, value);
          request.set('te', 'trailers');
          request.set('upgrade', 'h2c');
          const echo = await echoOf(await send(t, '/echo', { headers: request }));
          for (const name of [...named, ...HOP_BY_HOP, 'connection', 'proxy-authorization']) {
            expect(echo.headers[name], `request ${name}`).toBeUndefined();
          }
          expect(echo.headers['x-kept']).toBe('kept');

          // The same from the upstream's side: its Connection names fields that must not reach the client.
          const query = new URLSearchParams({ connection, 'x-kept': 'kept' });
          for (const name of [...named, ...HOP_BY_HOP]) query.append(name, value);
          const res = await send(t, `/headers?${query}`);
          expect(res.status).toBe(200);
          for (const name of [...named, ...HOP_BY_HOP, 'connection']) {
            expect(res.headers.get(name), `response ${name}`).toBeNull();
          }
          expect(res.headers.get('x-kept')).toBe('kept');
          expect(await res.text()).toBe('headers');
        },
      ),
      { numRuns: 25 },
    );
  });

  test('24 spoofed X-Forwarded-*, X-Tenant-*, X-Gateway-* are replaced by the gateway’s own', async () => {
    const t = await seedTenant({ scopes: ['proxy:read'] });
    const host = `${t.slug}.localhost`;
    const spoofable = fc
      .tuple(
        fc.constantFrom('X-Forwarded-', 'x-tenant-', 'X-GATEWAY-', 'x-Forwarded-'),
        fc.stringMatching(/^[a-z]{1,12}$/),
      )
      .map(([prefix, rest]) => `${prefix}${rest}`);
    // The gateway's own fields, always among the spoofed ones, plus any other name under the same prefixes.
    const asserted = {
      'x-forwarded-host': host,
      'x-forwarded-proto': 'http',
      'x-tenant-id': t.tenantId,
      'x-tenant-slug': t.slug,
      'x-tenant-schema': `t_${t.slug}`,
      'x-gateway-key-id': t.keyId,
      'x-gateway-scopes': 'proxy:read',
    } as const;
    const gatewayOwn = new Set([...Object.keys(asserted), 'x-gateway-signature', 'x-gateway-timestamp']);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(spoofable, { maxLength: 6 }), fieldValue, async (extra, value) => {
        const request = new Headers({ 'x-forwarded-for': '10.0.0.1, 10.0.0.2', 'x-instance': 'other' });
        for (const name of [
          ...Object.keys(asserted),
          'x-gateway-signature',
          'x-gateway-timestamp',
          ...extra,
        ]) {
          request.set(name, value);
        }
        const echo = await echoOf(await send(t, '/spoof', { headers: request }));
        for (const [name, expected] of Object.entries(asserted))
          expect(echo.headers[name], name).toBe(expected);
        expect(echo.headers['x-instance']).toBe(t.instance);
        // No client address in this harness: the client's chain is dropped, not passed on or appended to.
        expect(echo.headers['x-forwarded-for']).toBeUndefined();
        // Any other name under the prefixes is the client's invention: dropped.
        for (const name of extra.map((n) => n.toLowerCase()).filter((n) => !gatewayOwn.has(n))) {
          expect(echo.headers[name], name).toBeUndefined();
        }
        const signed = await verifySignature(
          t.signingSecret,
          {
            timestamp: Number(echo.headers['x-gateway-timestamp']),
            method: 'GET',
            host,
            pathAndQuery: '/spoof',
            tenantId: t.tenantId,
            keyId: t.keyId,
          },
          String(echo.headers['x-gateway-signature']),
        );
        expect(signed).toBe(true);
        expect(Math.abs(Number(echo.headers['x-gateway-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
      }),
      { numRuns: 25 },
    );
  });

  test('26 encoded traversal (%2e%2e, //, \\, %2f, %5c, ;) never leaves the upstream base path', async () => {
    const t = await seedTenant();
    await withDb((db) =>
      db
        .update(instances)
        .set({ upstreams: [`${env.TEST_UPSTREAM_URL}/base`] })
        .where(eq(instances.name, t.instance)),
    );
    const segment = fc.constantFrom(
      '..',
      '.',
      '%2e%2e',
      '%2E%2e',
      '.%2e',
      '%2e',
      '',
      '\\',
      '..\\',
      '%5c',
      '..%5c..',
      '..%2f..',
      '%2f',
      '..;',
      '..;x=1',
      '%252e%252e',
      'base',
      'etc',
      'passwd',
    );
    let refused = 0;
    let passed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 6 }), async (segments) => {
        const path = `/${segments.join('/')}`;
        const res = await send(t, path);
        if (res.status === 400) {
          refused++;
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
          return;
        }
        passed++;
        const received = (await echoOf(res)).path;
        expect(staysUnder('/base', received), `${path} reached the upstream as ${received}`).toBe(true);
      }),
      {
        numRuns: 150,
        examples: [
          [['%2e%2e', 'secret']],
          [['', 'evil.example', 'x']],
          [['..\\', 'x']],
          [['..%2f..', 'etc']],
        ],
      },
    );
    console.log(`traversal: ${passed} paths forwarded inside /base, ${refused} refused`);
    expect(passed).toBeGreaterThan(0);
  }, 60_000);

  test('27 Set-Cookie and other multi-value response headers pass intact', async () => {
    const t = await seedTenant();
    const cookie = fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9_]{1,10}$/),
        fc.stringMatching(/^[A-Za-z0-9!#$%&'()*+\-./:<=>?@[\]^_`{|}~]{0,20}$/),
        fc.subarray([
          'Path=/',
          'HttpOnly',
          'Secure',
          'SameSite=Lax',
          'Expires=Wed, 21 Oct 2099 07:28:00 GMT',
        ]),
      )
      .map(([name, value, attributes]) => [`${name}=${value}`, ...attributes].join('; '));
    await fc.assert(
      fc.asyncProperty(
        fc.array(cookie, { minLength: 1, maxLength: 5 }),
        fc.array(fc.stringMatching(/^[a-z0-9=;/]{1,12}$/), { minLength: 2, maxLength: 4 }),
        async (cookies, links) => {
          const query = new URLSearchParams();
          for (const c of cookies) query.append('set-cookie', c);
          for (const l of links) query.append('link', `</${l}>; rel=preload`);
          query.append('vary', 'accept');
          query.append('vary', 'accept-encoding');
          query.append('www-authenticate', 'Basic realm="a"');
          query.append('www-authenticate', 'Bearer realm="b", error="invalid_token"');
          const res = await send(t, `/headers?${query}`);
          expect(res.status).toBe(200);
          // Each cookie its own field, in order: a comma inside Expires must not split or merge them.
          expect(res.headers.getSetCookie()).toEqual(cookies);
          expect(res.headers.get('link')).toBe(links.map((l) => `</${l}>; rel=preload`).join(', '));
          expect(res.headers.get('vary')).toBe('accept, accept-encoding');
          expect(res.headers.get('www-authenticate')).toBe(
            'Basic realm="a", Bearer realm="b", error="invalid_token"',
          );
          await res.body?.cancel();
        },
      ),
      { numRuns: 30 },
    );
  });

  test('28 redirects are passed back as they are, never followed, whatever the method and target', async () => {
    const t = await seedTenant();
    // A target the gateway could reach: if it followed, the client would get upstream B's 200 echo.
    const elsewhere = `${env.TEST_UPSTREAM_URL_B}/followed`;
    for (const status of [301, 302, 303, 307, 308]) {
      for (const method of ['GET', 'POST']) {
        for (const location of [elsewhere, '/relative/next?x=1', 'http://169.254.169.254/latest/meta-data']) {
          const res = await send(t, `/redirect/${status}?${new URLSearchParams({ to: location })}`, {
            method,
            body: method === 'POST' ? 'payload' : undefined,
          });
          expect(res.status, `${method} ${status} ${location}`).toBe(status);
          expect(res.headers.get('location')).toBe(location);
          expect(res.headers.get('x-upstream')).toBeNull();
          expect(await res.text()).toBe('');
        }
      }
    }
  });
});

/**
 * Whether `received` (the path and query an upstream got) stays under `base` as the upstream would read it:
 * one percent-decoding of dots and separators, `\` as `/`, `;params` dropped, dot segments resolved.
 */
function staysUnder(base: string, received: string): boolean {
  const path = received.split('?')[0] ?? '';
  if (!path.startsWith(`${base}/`) && path !== base) return false;
  const decoded = path.replace(/%2e/gi, '.').replace(/%2f|%5c|\\/gi, '/');
  const baseDepth = base.split('/').length - 1;
  const stack: string[] = [];
  for (const raw of decoded.split('/').slice(1)) {
    const segment = raw.split(';')[0];
    if (segment === '..') {
      if (stack.length <= baseDepth) return false;
      stack.pop();
    } else if (segment !== '.') {
      stack.push(segment ?? '');
    }
  }
  return stack.slice(0, baseDepth).join('/') === base.slice(1);
}
