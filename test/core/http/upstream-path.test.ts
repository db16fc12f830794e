import { describe, expect, test } from 'vitest';
import { hasDotSegment, joinUpstreamPath, splitUpstreamBase } from '../../../src/core/http/upstream-path';

describe('joinUpstreamPath', () => {
  test.each([
    ['', '/hello?x=1', '/hello?x=1'],
    ['/api', '/hello?x=1', '/api/hello?x=1'],
    ['/api', '/', '/api/'],
    // Repeated slashes stay below the base path and are passed on as they are.
    ['/api', '//evil.example/x', '/api//evil.example/x'],
    // An encoded slash without a dot segment is data (e.g. an id), kept encoded.
    ['/api', '/files/a%2fb', '/api/files/a%2fb'],
    ['/api', '/.well-known/openid-configuration', '/api/.well-known/openid-configuration'],
    ['/api', '/a..b/...', '/api/a..b/...'],
    ['/api', '/semi;colon', '/api/semi;colon'],
    // The query is not a path: dots and encoded slashes in it are fine.
    ['/api', '/x?next=/../..%2fadmin', '/api/x?next=/../..%2fadmin'],
  ])('%s + %s → %s', (base, pathAndQuery, expected) => {
    expect(joinUpstreamPath(base, pathAndQuery)).toBe(expected);
  });

  test.each([
    '/..%2fadmin',
    '/..%2F..%2Fadmin',
    '/a/%2e%2e%2fadmin',
    '/%2e%2e/admin',
    '/%2E/x',
    '/..%5cadmin',
    '/..\\admin',
    '/a/..;/admin',
    '/a/.;x/b',
    '/../admin',
    '/a/./b',
    '/a/..',
    'relative',
    '',
  ])('refuses %s, which an upstream could resolve above its base path', (path) => {
    expect(joinUpstreamPath('/api', path)).toBeNull();
  });

  test('whatever is accepted starts with the base path and a slash', () => {
    const samples = ['/', '/a', '//b', '/%2f', '/a%2fb/c', '/.x', '/x;y', '/~u/', '/%41'];
    for (const path of samples) {
      const joined = joinUpstreamPath('/base', path);
      expect(joined?.startsWith('/base/')).toBe(true);
    }
  });
});

describe('hasDotSegment', () => {
  test('plain paths are not inspected further', () => {
    expect(hasDotSegment('/v1/users/42')).toBe(false);
  });
  test('dot segments in any spelling', () => {
    expect(hasDotSegment('/x/%2e%2E/y')).toBe(true);
    expect(hasDotSegment('/x/.%2e/y')).toBe(true);
    expect(hasDotSegment('/x/..')).toBe(true);
    expect(hasDotSegment('/x/...')).toBe(false);
  });
});

describe('splitUpstreamBase', () => {
  test.each([
    ['http://127.0.0.1:8080', { origin: 'http://127.0.0.1:8080', basePath: '' }],
    ['https://api.example.com/', { origin: 'https://api.example.com', basePath: '' }],
    ['https://api.example.com/v1', { origin: 'https://api.example.com', basePath: '/v1' }],
    ['https://api.example.com/v1/', { origin: 'https://api.example.com', basePath: '/v1' }],
    ['https://API.example.com:443/a/b', { origin: 'https://api.example.com', basePath: '/a/b' }],
  ])('%s', (base, expected) => {
    expect(splitUpstreamBase(base)).toEqual(expected);
  });
});
