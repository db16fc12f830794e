// Which methods a path answers to, from the routes an app declares: a known path asked with another method is
// `405 method_not_allowed` with `Allow` (DESIGN.md "Input rules"), not a 404 that says the path is unknown.

export type DeclaredRoute = { method: string; path: string };

/** `/v1/tenants/:tenant` (or `{tenant}`) as a pattern: a parameter is one non-empty segment, `*` the rest. */
function patternOf(path: string): RegExp {
  const body = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (/^(:\w+|\{\w+\})$/.test(segment)) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/** The methods declared for `pathname`, sorted, HEAD wherever GET is; empty when no route has this path. */
export function allowedMethods(routes: readonly DeclaredRoute[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    // Middleware is registered for every method; it makes no path known.
    if (route.method === 'ALL' || route.path === '/*') continue;
    if (patternOf(route.path).test(pathname)) methods.add(route.method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
