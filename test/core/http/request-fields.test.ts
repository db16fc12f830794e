import { describe, expect, it } from 'vitest';
import { buildForwardHeaders, type ForwardInfo } from '../../../src/core/http/headers';
import { RequestFields } from '../../../src/core/http/request-fields';

const headers = () =>
  new Headers([
    ['Authorization', 'Bearer gw_secret'],
    ['Accept', 'text/html'],
    ['Accept', 'application/json'],
    ['Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
    ['Set-Cookie', 'b=2'],
    ['Connection', 'x-drop'],
    ['X-Drop', 'gone'],
  ]);

describe('RequestFields', () => {
  it('answers get as the runtime Headers does, in any case of the name', () => {
    const source = headers();
    const fields = new RequestFields(source);
    for (const name of ['authorization', 'Accept', 'x-drop', 'content-length', 'SET-COOKIE'])
      expect(fields.get(name)).toBe(source.get(name));
    expect(fields.get('content-length')).toBeNull();
    expect(fields.get('accept')).toBe('text/html, application/json');
  });

  it('iterates every field as Headers does, each Set-Cookie apart', () => {
    const source = headers();
    expect([...new RequestFields(source)]).toEqual([...source]);
    expect([...new RequestFields(source)].filter(([name]) => name === 'set-cookie')).toHaveLength(2);
  });

  it('builds the same upstream headers as the Headers it was read from', () => {
    const info: ForwardInfo = {
      clientIp: '203.0.113.7',
      host: 'acme.gw.example.com',
      proto: 'https',
      requestId: 'req-1',
      tenantId: 'ten_abc',
      tenantSlug: 'acme',
      schemaName: 't_acme',
      instance: 'instance1',
      service: 'default',
      keyId: 'key_xyz',
      scopes: ['proxy:read'],
      timestamp: 1700000000,
      signature: 'ab'.repeat(32),
      credentialHeader: 'authorization',
      injected: [['X-Injected', 'v']],
    };
    const fromFields = buildForwardHeaders(new RequestFields(headers()), info);
    expect([...fromFields]).toEqual([...buildForwardHeaders(headers(), info)]);
    expect(fromFields.get('x-drop')).toBeNull();
    expect(fromFields.get('authorization')).toBeNull();
    expect(fromFields.getSetCookie()).toEqual(['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2']);
  });
});
