import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalPath,
  compileRoutes,
  hasScope,
  isPublicPath,
  isValidScope,
  pathMatches,
  requiredScope,
} from '../../../src/core/tenancy/scopes';

describe('pathMatches', () => {
  it('matches an exact pattern only exactly', () => {
    expect(pathMatches('/health', '/health')).toBe(true);
    expect(pathMatches('/health', '/health/')).toBe(false);
    expect(pathMatches('/health', '/healthz')).toBe(false);
    expect(pathMatches('/health', '/health/x')).toBe(false);
    expect(pathMatches('/health', '/')).toBe(false);
    expect(pathMatches('/', '/')).toBe(true);
    expect(pathMatches('/', '/a')).toBe(false);
  });

  it('matches a /* pattern at and below its base, not its siblings', () => {
    expect(pathMatches('/static/*', '/static')).toBe(true);
    expect(pathMatches('/static/*', '/static/')).toBe(true);
    expect(pathMatches('/static/*', '/static/a')).toBe(true);
    expect(pathMatches('/static/*', '/static/a/b')).toBe(true);
    expect(pathMatches('/static/*', '/staticfoo')).toBe(false);
    expect(pathMatches('/static/*', '/stati')).toBe(false);
    expect(pathMatches('/static/*', '/')).toBe(false);
    expect(pathMatches('/static/*', '/other/static/a')).toBe(false);
    expect(pathMatches('/a/b/*', '/a/b/c')).toBe(true);
    expect(pathMatches('/a/b/*', '/a/bc')).toBe(false);
    expect(pathMatches('/a/b/*', '/a')).toBe(false);
  });

  it('matches everything with a lone * or /*', () => {
    for (const pattern of ['*', '/*']) {
      expect(pathMatches(pattern, '/')).toBe(true);
      expect(pathMatches(pattern, '/a/b/c')).toBe(true);
      expect(pathMatches(pattern, '')).toBe(true);
    }
  });

  it('is case-sensitive', () => {
    expect(pathMatches('/health', '/Health')).toBe(false);
    expect(pathMatches('/static/*', '/Static/a')).toBe(false);
  });

  it('treats any other * literally', () => {
    expect(pathMatches('/static*', '/staticfoo')).toBe(false);
    expect(pathMatches('/static*', '/static*')).toBe(true);
    expect(pathMatches('/*/x', '/a/x')).toBe(false);
  });
});

describe('canonicalPath', () => {
  it('returns ordinary paths unchanged', () => {
    expect(canonicalPath('/')).toBe('/');
    expect(canonicalPath('/emails/send')).toBe('/emails/send');
    expect(canonicalPath('/a/b/')).toBe('/a/b/');
    expect(canonicalPath('/a.b/c-d_e~f')).toBe('/a.b/c-d_e~f');
  });

  it('decodes unreserved and slash escapes, leaves others encoded', () => {
    expect(canonicalPath('/e%6Dails/x')).toBe('/emails/x');
    expect(canonicalPath('/emails%2fsend')).toBe('/emails/send');
    expect(canonicalPath('/a%20b')).toBe('/a%20b');
    expect(canonicalPath('/a%3Fb')).toBe('/a%3Fb');
  });

  it('merges slashes, maps backslashes, drops ;params and resolves dot segments', () => {
    expect(canonicalPath('//emails//x')).toBe('/emails/x');
    expect(canonicalPath('/a\\b')).toBe('/a/b');
    expect(canonicalPath('/admin;jsessionid=1/x')).toBe('/admin/x');
    expect(canonicalPath('/static/..;/admin')).toBe('/admin');
    expect(canonicalPath('/static/..%2Fadmin')).toBe('/admin');
    expect(canonicalPath('/static/%2e%2e/admin')).toBe('/admin');
    expect(canonicalPath('/a/./b/../c/')).toBe('/a/c/');
    expect(canonicalPath('/a/b/..')).toBe('/a/');
    expect(canonicalPath('/../../x')).toBe('/x');
    expect(canonicalPath('/..')).toBe('/');
  });
});

describe('requiredScope', () => {
  const routes = compileRoutes([
    { methods: ['POST'], path: '/emails/*', scope: 'send' },
    { path: '/admin/*', scope: 'admin' },
    { methods: ['GET'], path: '/reports', scope: 'reports:read' },
    { methods: ['DELETE', 'PUT'], path: '/emails/*', scope: 'emails:manage' },
    { methods: [], path: '/anything', scope: 'any-method' },
    { path: '/emails/archive/*', scope: 'never-reached' },
  ]);

  it('falls back to proxy:read for safe methods and proxy:write otherwise', () => {
    const none = compileRoutes([]);
    expect(requiredScope('GET', '/x', none)).toBe('proxy:read');
    expect(requiredScope('HEAD', '/x', none)).toBe('proxy:read');
    expect(requiredScope('OPTIONS', '/x', none)).toBe('proxy:read');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'CONNECT']) {
      expect(requiredScope(method, '/x', none)).toBe('proxy:write');
    }
  });

  it('applies a rule only to its methods', () => {
    expect(requiredScope('POST', '/emails/send', routes)).toBe('send');
    expect(requiredScope('POST', '/emails', routes)).toBe('send');
    expect(requiredScope('GET', '/emails/send', routes)).toBe('proxy:read');
    expect(requiredScope('PATCH', '/emails/1', routes)).toBe('proxy:write');
    expect(requiredScope('DELETE', '/emails/1', routes)).toBe('emails:manage');
    expect(requiredScope('PUT', '/emails/1', routes)).toBe('emails:manage');
  });

  it('applies a rule without methods, or with an empty list, to every method', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      expect(requiredScope(method, '/admin/users', routes)).toBe('admin');
      expect(requiredScope(method, '/anything', routes)).toBe('any-method');
    }
  });

  it('takes the first matching rule, in order', () => {
    expect(requiredScope('POST', '/emails/archive/1', routes)).toBe('send');
    expect(requiredScope('GET', '/emails/archive/1', routes)).toBe('never-reached');
    const reversed = compileRoutes([
      { path: '/a/b/*', scope: 'narrow' },
      { path: '/a/*', scope: 'wide' },
    ]);
    expect(requiredScope('GET', '/a/b/c', reversed)).toBe('narrow');
    expect(requiredScope('GET', '/a/c', reversed)).toBe('wide');
    const wideFirst = compileRoutes([
      { path: '/a/*', scope: 'wide' },
      { path: '/a/b/*', scope: 'narrow' },
    ]);
    expect(requiredScope('GET', '/a/b/c', wideFirst)).toBe('wide');
  });

  it('does not match siblings of a /* rule', () => {
    expect(requiredScope('POST', '/emailsx', routes)).toBe('proxy:write');
    expect(requiredScope('GET', '/administrator', routes)).toBe('proxy:read');
  });

  it('compares methods case-insensitively, in rules and requests', () => {
    const lower = compileRoutes([{ methods: ['post'], path: '/x', scope: 's' }]);
    expect(requiredScope('POST', '/x', lower)).toBe('s');
    expect(requiredScope('post', '/emails/1', routes)).toBe('send');
    expect(requiredScope('get', '/x', compileRoutes([]))).toBe('proxy:read');
  });

  it('lets a GET rule cover HEAD', () => {
    expect(requiredScope('HEAD', '/reports', routes)).toBe('reports:read');
    expect(requiredScope('GET', '/reports', routes)).toBe('reports:read');
    expect(requiredScope('POST', '/reports', routes)).toBe('proxy:write');
  });

  it('matches the path an upstream would route, not only the bytes sent', () => {
    expect(requiredScope('POST', '/e%6Dails/send', routes)).toBe('send');
    expect(requiredScope('POST', '//emails/send', routes)).toBe('send');
    expect(requiredScope('POST', '/emails%2Fsend', routes)).toBe('send');
    expect(requiredScope('GET', '/x/..%2Fadmin/users', routes)).toBe('admin');
    expect(requiredScope('GET', '/x/..;/admin/users', routes)).toBe('admin');
    expect(requiredScope('GET', '/admin;x=1/users', routes)).toBe('admin');
  });

  it('is case-sensitive on paths', () => {
    expect(requiredScope('GET', '/Admin/users', routes)).toBe('proxy:read');
  });

  it('treats a lone * rule as a catch-all', () => {
    const all = compileRoutes([{ path: '*', scope: 'everything' }]);
    expect(requiredScope('GET', '/', all)).toBe('everything');
    expect(requiredScope('DELETE', '/a/b', all)).toBe('everything');
  });

  it('compiles to plain data that survives structuredClone', () => {
    const cloned = structuredClone(routes);
    expect(requiredScope('POST', '/emails/send', cloned)).toBe('send');
  });
});

describe('isPublicPath', () => {
  const publicPaths = ['/health', '/static/*'];

  it('uses the same matching as pathMatches', () => {
    expect(isPublicPath('/health', publicPaths)).toBe(true);
    expect(isPublicPath('/static', publicPaths)).toBe(true);
    expect(isPublicPath('/static/', publicPaths)).toBe(true);
    expect(isPublicPath('/static/app.js', publicPaths)).toBe(true);
    expect(isPublicPath('/staticfoo', publicPaths)).toBe(false);
    expect(isPublicPath('/healthz', publicPaths)).toBe(false);
    expect(isPublicPath('/Health', publicPaths)).toBe(false);
    expect(isPublicPath('/api', publicPaths)).toBe(false);
    expect(isPublicPath('/api', [])).toBe(false);
    expect(isPublicPath('/api', ['*'])).toBe(true);
  });

  it('never makes a private path public through encoding or dot segments', () => {
    expect(isPublicPath('/static/..%2Fadmin', publicPaths)).toBe(false);
    expect(isPublicPath('/static/..;/admin', publicPaths)).toBe(false);
    expect(isPublicPath('/static/%2e%2e/admin', publicPaths)).toBe(false);
    expect(isPublicPath('/static%2F..%2Fadmin', publicPaths)).toBe(false);
    expect(isPublicPath('/static\\..\\admin', publicPaths)).toBe(false);
    expect(isPublicPath('/health;/../admin', publicPaths)).toBe(false);
  });

  it('still accepts harmless variants under a public prefix', () => {
    expect(isPublicPath('/static/a%20b.css', publicPaths)).toBe(true);
    expect(isPublicPath('/static//a.css', publicPaths)).toBe(true);
    expect(isPublicPath('/static/a/../b.css', publicPaths)).toBe(true);
  });
});

describe('hasScope', () => {
  it('grants an exact match', () => {
    expect(hasScope(['proxy:read'], 'proxy:read')).toBe(true);
    expect(hasScope(['send', 'proxy:read'], 'send')).toBe(true);
    expect(hasScope(['admin'], 'admin')).toBe(true);
    expect(hasScope(['proxy:read'], 'proxy:write')).toBe(false);
    expect(hasScope([], 'proxy:read')).toBe(false);
  });

  it('grants everything with *', () => {
    expect(hasScope(['*'], 'admin')).toBe(true);
    expect(hasScope(['*'], 'tenant:admin')).toBe(true);
    expect(hasScope(['*'], 'proxy:write')).toBe(true);
  });

  it('lets prefix:* cover prefix:anything and nothing else', () => {
    expect(hasScope(['proxy:*'], 'proxy:read')).toBe(true);
    expect(hasScope(['proxy:*'], 'proxy:write')).toBe(true);
    expect(hasScope(['proxy:*'], 'proxy:a:b')).toBe(true);
    expect(hasScope(['proxy:*'], 'proxy:*')).toBe(true);
    expect(hasScope(['proxy:*'], 'proxy:')).toBe(false);
    expect(hasScope(['proxy:*'], 'proxy')).toBe(false);
    expect(hasScope(['proxy:*'], 'admin')).toBe(false);
    expect(hasScope(['proxy:*'], 'tenant:admin')).toBe(false);
    expect(hasScope(['proxy:*'], 'proxyx:read')).toBe(false);
    expect(hasScope(['proxy:*'], 'send')).toBe(false);
  });

  it('knows no other wildcard forms', () => {
    expect(hasScope(['proxy*'], 'proxy:read')).toBe(false);
    expect(hasScope(['prox*'], 'proxy:read')).toBe(false);
    expect(hasScope(['*:read'], 'proxy:read')).toBe(false);
    expect(hasScope(['**'], 'admin')).toBe(false);
    expect(hasScope([':*'], ':x')).toBe(false);
    expect(hasScope(['*:*'], 'proxy:read')).toBe(false);
    expect(hasScope(['a*'], 'admin')).toBe(false);
  });

  it('does not fold case', () => {
    expect(hasScope(['ADMIN'], 'admin')).toBe(false);
    expect(hasScope(['Proxy:*'], 'proxy:read')).toBe(false);
    expect(hasScope(['proxy:read'], 'PROXY:READ')).toBe(false);
  });

  it('grants nothing from an empty or whitespace-bearing scope', () => {
    expect(hasScope([''], '')).toBe(false);
    expect(hasScope([' '], ' ')).toBe(false);
    expect(hasScope(['admin '], 'admin ')).toBe(false);
    expect(hasScope([' admin'], 'admin')).toBe(false);
    expect(hasScope(['* '], 'admin')).toBe(false);
    expect(hasScope([' *'], 'admin')).toBe(false);
    expect(hasScope(['proxy:* '], 'proxy:read')).toBe(false);
    expect(hasScope(['proxy :*'], 'proxy :read')).toBe(false);
    expect(hasScope(['*\n'], 'admin')).toBe(false);
    expect(hasScope(['\tadmin'], '\tadmin')).toBe(false);
  });

  const nearMisses = fc.constantFrom(
    '',
    ' ',
    '**',
    '* ',
    ' *',
    '*\n',
    'admin ',
    ' admin',
    'Admin',
    'ADMIN',
    'admin*',
    'admin:*',
    'a*',
    '*admin',
    'adm',
    ':*',
    '*:*',
    'tenant:*',
    'tenant:admin ',
    'tenant:Admin',
    'tenant*',
    'tenant:admi',
    'tenant:admin:*',
    'proxy:*',
    'proxy*',
    'proxy:',
    'proxy:read ',
    'proxyx:*',
    'Proxy:*',
  );
  const grantedScope = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nearMisses);

  function escalates(needed: string, allowed: readonly string[]) {
    return fc.property(fc.array(grantedScope.filter((s) => !allowed.includes(s))), (granted) => {
      expect(hasScope(granted, needed)).toBe(false);
    });
  }

  it('never grants admin from anything but * or admin', () => {
    fc.assert(escalates('admin', ['*', 'admin']), { numRuns: 2000 });
  });

  it('never grants tenant:admin from anything but *, tenant:* or tenant:admin', () => {
    fc.assert(escalates('tenant:admin', ['*', 'tenant:*', 'tenant:admin']), { numRuns: 2000 });
  });

  it('never grants proxy:read from anything but *, proxy:* or proxy:read', () => {
    fc.assert(escalates('proxy:read', ['*', 'proxy:*', 'proxy:read']), { numRuns: 2000 });
  });

  it('grants only through exact match, * or a covering prefix:*', () => {
    const scope = fc.oneof(
      fc.string(),
      nearMisses,
      fc.constantFrom('admin', 'proxy:read', 'tenant:admin', '*'),
    );
    fc.assert(
      fc.property(fc.array(scope), scope, (granted, needed) => {
        const explained = granted.some(
          (g) =>
            g !== '' &&
            !/\s/.test(g) &&
            (g === needed ||
              g === '*' ||
              (g.length > 2 &&
                g.endsWith(':*') &&
                needed.startsWith(g.slice(0, -1)) &&
                needed.length >= g.length)),
        );
        expect(hasScope(granted, needed)).toBe(explained);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isValidScope', () => {
  it('accepts the scopes in use', () => {
    for (const s of [
      '*',
      'admin',
      'tenant:admin',
      'proxy:read',
      'proxy:write',
      'send',
      'proxy:*',
      'reports.v2:read-all_x',
    ]) {
      expect(isValidScope(s), s).toBe(true);
    }
    expect(isValidScope('a'.repeat(64))).toBe(true);
  });

  it('rejects empty, spaced, upper-case, over-long and odd wildcard scopes', () => {
    for (const s of [
      '',
      ' ',
      'admin ',
      ' admin',
      'proxy read',
      'Admin',
      'PROXY:READ',
      'a'.repeat(65),
      '**',
      'proxy*',
      '*:read',
      ':*',
      'proxy:',
      ':read',
      'proxy::read',
      'proxy:*:read',
      '-admin',
      'admin\n',
      'ädmin',
    ]) {
      expect(isValidScope(s), JSON.stringify(s)).toBe(false);
    }
  });

  it('accepts only scopes without whitespace, so every valid scope can be granted', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (isValidScope(s)) expect(hasScope([s], s)).toBe(true);
      }),
    );
  });
});
