import { describe, expect, test } from 'vitest';
import { allowedMethods } from '../../../src/core/http/allowed-methods';

const routes = [
  { method: 'ALL', path: '/*' },
  { method: 'GET', path: '/v1/instances' },
  { method: 'POST', path: '/v1/instances' },
  { method: 'GET', path: '/v1/instances/:name' },
  { method: 'PATCH', path: '/v1/instances/:name' },
  { method: 'DELETE', path: '/v1/tenants/{tenant}/domains/{hostname}' },
  { method: 'POST', path: '/v1/tenants/:tenant/proxy/*' },
];

describe('allowedMethods', () => {
  test('the methods declared for a path, HEAD with GET, middleware aside', () => {
    expect(allowedMethods(routes, '/v1/instances')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowedMethods(routes, '/v1/instances/')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowedMethods(routes, '/v1/instances/i1')).toEqual(['GET', 'HEAD', 'PATCH']);
    expect(allowedMethods(routes, '/v1/tenants/acme/domains/api.acme.com')).toEqual(['DELETE']);
    expect(allowedMethods(routes, '/v1/tenants/acme/proxy/a/b')).toEqual(['POST']);
  });

  test('an unknown path, or a parameter left empty or spanning segments, is known to no route', () => {
    expect(allowedMethods(routes, '/v1/nothing')).toEqual([]);
    expect(allowedMethods(routes, '/v1/instances//')).toEqual([]);
    expect(allowedMethods(routes, '/v1/instances/a/b')).toEqual([]);
    expect(allowedMethods(routes, '/v1/instancesX')).toEqual([]);
  });
});
