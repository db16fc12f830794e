// Battery case 31 (issue 10, DESIGN.md "Instances"): with private upstreams disallowed, every spelling of a
// loopback, private, link-local or metadata address, and any URL with credentials, is refused. The worker
// tests run with ALLOW_PRIVATE_UPSTREAMS=true, so the rule is driven where it lives (the pure check) and
// through the real app and database with that one binding turned off.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../../src/app';
import { checkUpstreamUrl } from '../../../src/core/http/upstream-url';
import { unique } from '../../worker/helpers';

const strict = { allowPrivate: false };
const app = createApp();

/** A control call through the app with private upstreams disallowed, as in production. */
async function strictApi(method: string, path: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://control.localhost${path}`, {
      method,
      headers: { authorization: `Bearer ${env.ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

const NAMED = [
  'http://127.0.0.1',
  'http://10.0.0.1',
  'http://169.254.169.254/latest/meta-data',
  'http://2130706433',
  'http://0x7f000001',
  'http://0177.0.0.1',
  'http://[::1]',
  'http://localhost',
  'https://user:pass@api.example.com',
  'https://user@api.example.com',
];

// 32-bit addresses inside the ranges DESIGN.md names.
const PRIVATE_RANGES: [number, number][] = [
  [0x7f000000, 8],
  [0x0a000000, 8],
  [0xac100000, 12],
  [0xc0a80000, 16],
  [0xa9fe0000, 16],
  [0x00000000, 8],
];
const privateAddress = fc
  .tuple(fc.constantFrom(...PRIVATE_RANGES), fc.nat())
  .map(([[network, bits], n]) => (network | (n & (2 ** (32 - bits) - 1))) >>> 0);

const octets = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
const hex = (n: number) => `0x${n.toString(16)}`;
const octal = (n: number) => `0${n.toString(8)}`;
// The spellings WHATWG URL parsers accept for one IPv4 address: decimal, hex or octal per part, and
// fewer parts than four (the last one fills the remaining bytes).
const SPELLINGS: ((a: number) => string)[] = [
  (a) => octets(a).join('.'),
  (a) => String(a),
  (a) => hex(a),
  (a) => octal(a),
  (a) => octets(a).map(hex).join('.'),
  (a) => octets(a).map(octal).join('.'),
  (a) => `${octets(a)[0]}.${a & 0xffffff}`,
  (a) => `${hex(octets(a)[0] ?? 0)}.${octets(a)[1]}.${hex(a & 0xffff)}`,
  (a) => `[::ffff:${octets(a).join('.')}]`,
  (a) => `[::ffff:${(a >>> 16).toString(16)}:${(a & 0xffff).toString(16)}]`,
];

describe('battery: upstream address rules', () => {
  test('31 with private upstreams disallowed, private addresses in any spelling and credentials are refused', async () => {
    for (const raw of NAMED) expect(checkUpstreamUrl(raw, strict).ok, raw).toBe(false);
    // The rule, not a blanket refusal: a public address in the same spellings is accepted.
    expect(checkUpstreamUrl('http://93.184.216.34', strict).ok).toBe(true);
    expect(checkUpstreamUrl('http://0x5db8d822', strict).ok).toBe(true);

    fc.assert(
      fc.property(
        privateAddress,
        fc.constantFrom(...SPELLINGS),
        fc.constantFrom('', ':8080'),
        fc.constantFrom('', '/', '/api/'),
        (address, spell, port, path) => {
          const raw = `http://${spell(address)}${port}${path}`;
          // The spelling is one the URL parser reads as this address: the property is about real aliases.
          const parsed = new URL(raw).hostname;
          const canonical = parsed.startsWith('[') ? parsed : octets(address).join('.');
          if (!parsed.startsWith('[')) expect(parsed).toBe(canonical);
          expect(checkUpstreamUrl(raw, strict).ok, raw).toBe(false);
          expect(checkUpstreamUrl(raw, { allowPrivate: true }).ok, raw).toBe(true);
        },
      ),
      { numRuns: 400 },
    );

    // Through the control API, with the real app and database: every one is 422, nothing is created.
    for (const raw of NAMED) {
      const name = unique('i');
      const created = await strictApi('POST', '/v1/instances', { name, upstreams: [raw] });
      expect(created.status, raw).toBe(422);
      expect(created.body.error?.code).toBe('validation_failed');
      const hooks = await strictApi('POST', '/v1/instances', {
        name,
        upstreams: ['https://api.example.com'],
        hooks_url: raw,
      });
      expect(hooks.status, `hooks_url ${raw}`).toBe(422);
    }
    const name = unique('i');
    const allowed = await strictApi('POST', '/v1/instances', {
      name,
      upstreams: ['https://api.example.com'],
    });
    expect(allowed.status).toBe(201);
    // A change to an existing instance is held to the same rule.
    const patched = await strictApi('PATCH', `/v1/instances/${name}`, { upstreams: ['http://0x7f000001'] });
    expect(patched.status).toBe(422);
  }, 60_000);
});
