import { describe, expect, it } from 'vitest';
import {
  buildForwardHeaders,
  connectionTokens,
  type ForwardInfo,
  HOP_BY_HOP,
  newRequestId,
  sanitizeRequestId,
  stripHopByHop,
  stripResponseHeaders,
} from '../../../src/core/http/headers';

const info: ForwardInfo = {
  clientIp: '203.0.113.7',
  host: 'acme.instance1.gw.example.com',
  proto: 'https',
  requestId: 'req-123',
  tenantId: 'ten_abc',
  tenantSlug: 'acme',
  schemaName: 't_acme',
  instance: 'instance1',
  service: 'gui',
  keyId: 'key_xyz',
  scopes: ['proxy:read', 'send'],
  timestamp: 1700000000,
  signature: 'ab'.repeat(32),
  credentialHeader: 'authorization',
  injected: [],
};

const gatewayHeaders = [
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-request-id',
  'x-tenant-id',
  'x-tenant-slug',
  'x-tenant-schema',
  'x-instance',
  'x-gateway-service',
  'x-gateway-key-id',
  'x-gateway-scopes',
  'x-gateway-timestamp',
  'x-gateway-signature',
];

describe('HOP_BY_HOP', () => {
  it('lists the RFC 9110 connection-specific fields', () => {
    expect([...HOP_BY_HOP].sort()).toEqual(
      [
        'connection',
        'keep-alive',
        'proxy-connection',
        'te',
        'trailer',
        'transfer-encoding',
        'upgrade',
        'proxy-authenticate',
        'proxy-authorization',
      ].sort(),
    );
  });
});

describe('connectionTokens', () => {
  it('splits, trims and lower-cases, skipping junk', () => {
    expect(connectionTokens(null)).toEqual([]);
    expect(connectionTokens('')).toEqual([]);
    expect(connectionTokens(' Keep-Alive ,X-Foo,, x-bar ')).toEqual(['keep-alive', 'x-foo', 'x-bar']);
    expect(connectionTokens('x foo, ok, (bad), é')).toEqual(['ok']);
  });
});

describe('stripHopByHop', () => {
  it('removes every hop-by-hop field in place', () => {
    const h = new Headers();
    for (const name of HOP_BY_HOP) h.set(name, 'x');
    h.set('content-type', 'text/plain');
    stripHopByHop(h);
    expect([...h.keys()]).toEqual(['content-type']);
  });

  it('removes the fields named in Connection, case-insensitively', () => {
    const h = new Headers({
      connection: 'close, X-Secret-Hop,  x-other',
      'x-secret-hop': '1',
      'X-Other': '2',
      keep: '3',
    });
    stripHopByHop(h);
    expect([...h.keys()]).toEqual(['keep']);
  });

  it('ignores names in Connection that are not valid field names', () => {
    const h = new Headers({ connection: 'bad name, x-a', 'x-a': '1', 'x-b': '2' });
    expect(() => stripHopByHop(h)).not.toThrow();
    expect([...h.keys()]).toEqual(['x-b']);
  });

  it('keeps Upgrade and sets Connection: upgrade for pass-through', () => {
    const h = new Headers({
      connection: 'keep-alive, Upgrade',
      upgrade: 'websocket',
      'keep-alive': 'timeout=5',
    });
    stripHopByHop(h, { keepUpgrade: true });
    expect(h.get('upgrade')).toBe('websocket');
    expect(h.get('connection')).toBe('upgrade');
    expect(h.has('keep-alive')).toBe(false);
  });

  it('does not invent an upgrade when none was asked for', () => {
    const h = new Headers({ connection: 'close' });
    stripHopByHop(h, { keepUpgrade: true });
    expect(h.has('connection')).toBe(false);
    expect(h.has('upgrade')).toBe(false);
  });
});

describe('sanitizeRequestId', () => {
  it('keeps sane ids', () => {
    expect(sanitizeRequestId('abc-DEF_1.2')).toBe('abc-DEF_1.2');
    expect(sanitizeRequestId('a')).toBe('a');
    expect(sanitizeRequestId('a'.repeat(128))).toBe('a'.repeat(128));
  });

  it('rejects missing, empty, long and odd ids', () => {
    expect(sanitizeRequestId(null)).toBeNull();
    expect(sanitizeRequestId('')).toBeNull();
    expect(sanitizeRequestId('a'.repeat(129))).toBeNull();
    expect(sanitizeRequestId('a b')).toBeNull();
    expect(sanitizeRequestId('a\nb')).toBeNull();
    expect(sanitizeRequestId('abc\n')).toBeNull();
    expect(sanitizeRequestId('<script>')).toBeNull();
    expect(sanitizeRequestId('a,b')).toBeNull();
    expect(sanitizeRequestId('é')).toBeNull();
  });
});

describe('newRequestId', () => {
  it('is 26 sane characters and passes the sanitizer', () => {
    const id = newRequestId();
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(sanitizeRequestId(id)).toBe(id);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newRequestId()));
    expect(ids.size).toBe(10_000);
  });

  it('starts with the time, so ids sort by time', () => {
    const before = newRequestId();
    const start = Date.now();
    while (Date.now() === start) {
      // wait for the next millisecond
    }
    const after = newRequestId();
    expect(before.slice(0, 10) < after.slice(0, 10)).toBe(true);
  });
});

describe('buildForwardHeaders', () => {
  it('sets every gateway header', () => {
    const out = buildForwardHeaders(new Headers({ accept: 'application/json' }), info);
    expect(Object.fromEntries(out)).toEqual({
      accept: 'application/json',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'acme.instance1.gw.example.com',
      'x-forwarded-proto': 'https',
      'x-request-id': 'req-123',
      'x-tenant-id': 'ten_abc',
      'x-tenant-slug': 'acme',
      'x-tenant-schema': 't_acme',
      'x-instance': 'instance1',
      'x-gateway-service': 'gui',
      'x-gateway-key-id': 'key_xyz',
      'x-gateway-scopes': 'proxy:read send',
      'x-gateway-timestamp': '1700000000',
      'x-gateway-signature': 'ab'.repeat(32),
    });
  });

  it('keeps end-to-end headers, including the body framing', () => {
    const incoming = new Headers({
      accept: 'text/html',
      'content-type': 'application/json',
      'content-length': '12',
      cookie: 'a=1; b=2',
      'user-agent': 'curl/8',
      'x-custom': 'kept',
    });
    const out = buildForwardHeaders(incoming, info);
    for (const [name, value] of incoming) expect(out.get(name), name).toBe(value);
  });

  it("adds the tenant's injected headers, each replacing every client value of its name", () => {
    const incoming = new Headers({ accept: 'text/plain' });
    incoming.append('X-Smtp-Password', 'from-the-client');
    incoming.append('x-smtp-password', 'again');
    const out = buildForwardHeaders(incoming, {
      ...info,
      injected: [
        ['X-Smtp-Password', 'sealed-at-rest'],
        ['X-Smtp-User', 'acme'],
      ],
    });
    expect(out.get('x-smtp-password')).toBe('sealed-at-rest');
    expect(out.get('x-smtp-user')).toBe('acme');
    expect(out.get('accept')).toBe('text/plain');
    expect(out.get('x-tenant-id')).toBe('ten_abc');
  });

  it('does not change the incoming headers', () => {
    const incoming = new Headers({
      authorization: 'Bearer gw_x',
      connection: 'close',
      'x-tenant-id': 'evil',
    });
    buildForwardHeaders(incoming, info);
    expect(Object.fromEntries(incoming)).toEqual({
      authorization: 'Bearer gw_x',
      connection: 'close',
      'x-tenant-id': 'evil',
    });
  });

  it('strips hop-by-hop headers and those named in Connection', () => {
    const out = buildForwardHeaders(
      new Headers({
        connection: 'keep-alive, X-Hop-Secret',
        'keep-alive': 'timeout=5',
        'x-hop-secret': 'must not reach upstream',
        te: 'trailers',
        trailer: 'x-checksum',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic eA==',
        'proxy-connection': 'keep-alive',
        'proxy-authenticate': 'Basic',
        'x-kept': '1',
      }),
      info,
    );
    for (const name of [...HOP_BY_HOP, 'x-hop-secret']) expect(out.has(name), name).toBe(false);
    expect(out.get('x-kept')).toBe('1');
  });

  it('cannot be made to drop gateway headers through Connection', () => {
    const out = buildForwardHeaders(
      new Headers({ connection: 'x-forwarded-for, x-tenant-id, x-gateway-signature, x-request-id' }),
      info,
    );
    for (const name of gatewayHeaders) expect(out.has(name), name).toBe(true);
  });

  it('keeps Upgrade for a WebSocket pass-through', () => {
    const incoming = new Headers({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    });
    const out = buildForwardHeaders(incoming, { ...info, keepUpgrade: true });
    expect(out.get('upgrade')).toBe('websocket');
    expect(out.get('connection')).toBe('upgrade');
    expect(out.get('sec-websocket-key')).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    const plain = buildForwardHeaders(incoming, info);
    expect(plain.has('upgrade')).toBe(false);
    expect(plain.has('connection')).toBe(false);
  });

  it('drops host', () => {
    const out = buildForwardHeaders(new Headers({ host: 'acme.instance1.gw.example.com' }), info);
    expect(out.has('host')).toBe(false);
  });

  it('drops the header that carried the API key, and only that one', () => {
    const incoming = new Headers({ authorization: 'Bearer gw_secret', 'x-api-key': 'other' });
    const viaAuthorization = buildForwardHeaders(incoming, info);
    expect(viaAuthorization.has('authorization')).toBe(false);
    expect(viaAuthorization.get('x-api-key')).toBe('other');

    const viaApiKey = buildForwardHeaders(
      new Headers({ authorization: 'Basic dTpw', 'X-API-Key': 'gw_secret' }),
      {
        ...info,
        credentialHeader: 'x-api-key',
      },
    );
    expect(viaApiKey.has('x-api-key')).toBe(false);
    expect(viaApiKey.get('authorization')).toBe('Basic dTpw');

    const anonymous = buildForwardHeaders(incoming, {
      ...info,
      keyId: null,
      scopes: [],
      credentialHeader: null,
    });
    expect(anonymous.get('authorization')).toBe('Bearer gw_secret');
    expect(anonymous.get('x-gateway-key-id')).toBe('-');
    expect(anonymous.get('x-gateway-scopes')).toBe('');
  });

  it('replaces spoofed gateway, tenant and forwarding headers rather than appending', () => {
    const incoming = new Headers();
    for (const name of gatewayHeaders) incoming.append(name, 'spoofed');
    incoming.append('X-Forwarded-For', '10.0.0.1');
    incoming.append('X-Tenant-Id', 'ten_other');
    incoming.append('X-Gateway-Signature', 'f'.repeat(64));
    const out = buildForwardHeaders(incoming, info);
    expect(out.get('x-forwarded-for')).toBe('203.0.113.7');
    expect(out.get('x-tenant-id')).toBe('ten_abc');
    expect(out.get('x-gateway-signature')).toBe('ab'.repeat(32));
    for (const [name, value] of out) expect(value, name).not.toContain('spoofed');
  });

  it('drops every client x-tenant-*, x-gateway-* and x-forwarded-* header, even ones it does not set', () => {
    const out = buildForwardHeaders(
      new Headers({
        'x-tenant-role': 'owner',
        'x-gateway-verified': 'true',
        'x-forwarded-port': '443',
        'x-forwarded-prefix': '/admin',
        'x-tenantish': 'kept',
      }),
      info,
    );
    expect(out.has('x-tenant-role')).toBe(false);
    expect(out.has('x-gateway-verified')).toBe(false);
    expect(out.has('x-forwarded-port')).toBe(false);
    expect(out.has('x-forwarded-prefix')).toBe(false);
    expect(out.get('x-tenantish')).toBe('kept');
  });

  it('drops client-sent address, CDN and rewrite headers', () => {
    const spoofed = [
      'forwarded',
      'x-real-ip',
      'true-client-ip',
      'x-client-ip',
      'cf-connecting-ip',
      'cf-connecting-ipv6',
      'cf-ray',
      'cf-ipcountry',
      'cf-visitor',
      'cf-worker',
      'cdn-loop',
      'x-http-method-override',
      'x-original-url',
      'x-rewrite-url',
    ];
    const incoming = new Headers();
    for (const name of spoofed) incoming.set(name, '10.0.0.1');
    const out = buildForwardHeaders(incoming, info);
    for (const name of spoofed) expect(out.has(name), name).toBe(false);
  });

  it('omits X-Forwarded-For when the client address is unknown, even if the client sent one', () => {
    const out = buildForwardHeaders(new Headers({ 'x-forwarded-for': '1.2.3.4' }), {
      ...info,
      clientIp: null,
    });
    expect(out.has('x-forwarded-for')).toBe(false);
  });

  it('sets the client address alone', () => {
    const out = buildForwardHeaders(new Headers({ 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }), {
      ...info,
      clientIp: '2001:db8::1',
    });
    expect(out.get('x-forwarded-for')).toBe('2001:db8::1');
    expect(out.get('x-forwarded-proto')).toBe('https');
  });
});

describe('stripResponseHeaders', () => {
  it('copies without hop-by-hop headers or those named in Connection', () => {
    const upstream = new Headers({
      'content-type': 'text/plain',
      connection: 'close, X-Internal',
      'x-internal': 'debug',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'proxy-authenticate': 'Basic',
      trailer: 'x-checksum',
      upgrade: 'h2c',
      etag: '"1"',
    });
    const out = stripResponseHeaders(upstream);
    expect(Object.fromEntries(out)).toEqual({ 'content-type': 'text/plain', etag: '"1"' });
    expect(upstream.get('x-internal')).toBe('debug');
  });

  it('keeps every Set-Cookie value apart', () => {
    const upstream = new Headers();
    upstream.append('set-cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/');
    upstream.append('set-cookie', 'b=2; HttpOnly');
    upstream.append('connection', 'close');
    const out = stripResponseHeaders(upstream);
    expect(out.getSetCookie()).toEqual([
      'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/',
      'b=2; HttpOnly',
    ]);
    expect(out.has('connection')).toBe(false);
  });

  it('keeps Upgrade on request', () => {
    const upstream = new Headers({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-accept': 'x',
    });
    const out = stripResponseHeaders(upstream, { keepUpgrade: true });
    expect(out.get('upgrade')).toBe('websocket');
    expect(out.get('connection')).toBe('upgrade');
    expect(out.get('sec-websocket-accept')).toBe('x');
  });
});
