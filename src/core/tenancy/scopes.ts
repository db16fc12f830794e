// Scope rules: which scope a proxied request needs, and whether a key's scopes grant it.

export type RouteRule = { methods?: string[]; path: string; scope: string };

type MatchKind = 'any' | 'exact' | 'prefix';

type CompiledRule = {
  readonly methods: ReadonlySet<string> | null;
  readonly kind: MatchKind;
  // The pattern for `exact`, the pattern without its trailing `/*` for `prefix`.
  readonly base: string;
  readonly scope: string;
};

/** Opaque: build it with `compileRoutes` once per tenant snapshot. Plain data, so a snapshot can be cloned. */
export type CompiledRoutes = { readonly rules: readonly CompiledRule[] };

const SLASH = 47;
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const WHITESPACE = /\s/;
const VALID_SCOPE = /^(?:\*|[a-z0-9][a-z0-9_.-]*(?::[a-z0-9][a-z0-9_.-]*)*(?::\*)?)$/;
const MAX_SCOPE_LENGTH = 64;

function kindOf(pattern: string): MatchKind {
  if (pattern === '*' || pattern === '/*') return 'any';
  return pattern.endsWith('/*') ? 'prefix' : 'exact';
}

function matchesBase(kind: MatchKind, base: string, path: string): boolean {
  if (kind === 'any') return true;
  if (kind === 'exact') return path === base;
  // `/static/*` covers `/static` and everything below it, but not the sibling `/staticfoo`.
  return path.startsWith(base) && (path.length === base.length || path.charCodeAt(base.length) === SLASH);
}

/** `/health` matches exactly; `/static/*` matches `/static`, `/static/` and below; `*` or `/*` match all. */
export function pathMatches(pattern: string, path: string): boolean {
  const kind = kindOf(pattern);
  if (kind !== 'prefix') return matchesBase(kind, pattern, path);
  const n = pattern.length - 2;
  if (path.length < n || (path.length > n && path.charCodeAt(n) !== SLASH)) return false;
  // Compare in place so the hot path does not slice the pattern on every call.
  for (let i = 0; i < n; i++) {
    if (pattern.charCodeAt(i) !== path.charCodeAt(i)) return false;
  }
  return true;
}

// Bytes that upstreams commonly decode before routing, so matching must see them decoded too:
// unreserved characters (RFC 3986 §2.3), `/` and `\`.
const DECODED = new Set<number>([0x2d, 0x2e, 0x2f, 0x5c, 0x5f, 0x7e]);
for (let c = 0x30; c <= 0x39; c++) DECODED.add(c);
for (let c = 0x41; c <= 0x5a; c++) DECODED.add(c);
for (let c = 0x61; c <= 0x7a; c++) DECODED.add(c);
const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g;
const NEEDS_CANONICAL = /[%\\;]|\/\/|\/\.|^[^/]/;

function decodeEscape(match: string, hex: string): string {
  const code = Number.parseInt(hex, 16);
  return DECODED.has(code) ? String.fromCharCode(code) : match;
}

/**
 * The path as a typical upstream router sees it: unreserved and slash escapes decoded, `\` as `/`,
 * `;params` dropped from segments (servlet containers do), repeated slashes merged, dot segments resolved.
 * Scope and public-path decisions use it so `/e%6Dails/x`, `//emails/x` or `/static/..;/admin` cannot
 * dodge a rule. Paths that need none of this are returned as they are, without allocating.
 */
export function canonicalPath(path: string): string {
  if (!NEEDS_CANONICAL.test(path)) return path;
  const decoded = path.includes('%') ? path.replace(PERCENT_ESCAPE, decodeEscape) : path;
  const segments = decoded.replaceAll('\\', '/').split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (const raw of segments) {
    const semicolon = raw.indexOf(';');
    const segment = semicolon === -1 ? raw : raw.slice(0, semicolon);
    trailingSlash = segment === '' || segment === '.' || segment === '..';
    if (segment === '..') out.pop();
    else if (segment !== '' && segment !== '.') out.push(segment);
  }
  const joined = `/${out.join('/')}`;
  return trailingSlash && out.length > 0 ? `${joined}/` : joined;
}

export function compileRoutes(rules: readonly RouteRule[]): CompiledRoutes {
  return {
    rules: rules.map((rule) => {
      const kind = kindOf(rule.path);
      return {
        methods: compileMethods(rule.methods),
        kind,
        base: kind === 'prefix' ? rule.path.slice(0, -2) : rule.path,
        scope: rule.scope,
      };
    }),
  };
}

function compileMethods(methods: readonly string[] | undefined): ReadonlySet<string> | null {
  if (!methods || methods.length === 0) return null;
  const set = new Set(methods.map((m) => m.toUpperCase()));
  // HEAD runs the GET handler in most frameworks, so it must not slip past a GET-only rule.
  if (set.has('GET')) set.add('HEAD');
  return set;
}

/** The scope a request needs: the first matching rule's, else `proxy:read` for safe methods, `proxy:write`. */
export function requiredScope(method: string, path: string, routes: CompiledRoutes): string {
  const m = method.toUpperCase();
  const p = canonicalPath(path);
  for (const rule of routes.rules) {
    if ((rule.methods === null || rule.methods.has(m)) && matchesBase(rule.kind, rule.base, p))
      return rule.scope;
  }
  return READ_METHODS.has(m) ? 'proxy:read' : 'proxy:write';
}

/**
 * Public only when both the path as sent and its canonical form match, so an encoded or dotted
 * path (`/static/..%2Fadmin`) never turns a private path public.
 */
export function isPublicPath(path: string, publicPaths: readonly string[]): boolean {
  const canonical = canonicalPath(path);
  for (const pattern of publicPaths) {
    if (pathMatches(pattern, path) && (canonical === path || pathMatches(pattern, canonical))) return true;
  }
  return false;
}

/** `needed` is granted by itself, by `*`, or by `prefix:*` when it reads `prefix:something`. */
export function hasScope(granted: readonly string[], needed: string): boolean {
  for (const g of granted) {
    if (g === '' || WHITESPACE.test(g)) continue;
    if (g === needed || g === '*') return true;
    if (isPrefixWildcard(g) && needed.length > g.length - 1 && needed.startsWith(g.slice(0, -1))) return true;
  }
  return false;
}

function isPrefixWildcard(scope: string): boolean {
  // `:*` alone has no prefix and grants nothing beyond its exact self.
  return scope.length > 2 && scope.endsWith(':*');
}

/** Scope syntax the control API accepts: `*`, or `:`-separated lower-case segments, optionally ending `:*`. */
export function isValidScope(s: string): boolean {
  return s.length <= MAX_SCOPE_LENGTH && VALID_SCOPE.test(s);
}

/** Scopes of operator keys only: `admin` (or `*`) does everything, `read` reads everything. */
const OPERATOR_ONLY_SCOPES = new Set(['admin', 'read']);

/** Whether `scope` may be held by an operator key: only the operator scopes, `*` among them. */
export function isOperatorScope(scope: string): boolean {
  return scope === '*' || OPERATOR_ONLY_SCOPES.has(scope);
}

/** Whether `scope` may be held by a tenant key: anything but the operators' own (`*` is all of the tenant's). */
export function isTenantScope(scope: string): boolean {
  return !OPERATOR_ONLY_SCOPES.has(scope);
}

/**
 * Whether a tenant key holding `granted` may give a key of its tenant `scope`: with `tenant:admin` (or `*`)
 * any tenant scope, as its tenant's administrator; otherwise only what it holds itself.
 */
export function canGrantTenantScope(granted: readonly string[], scope: string): boolean {
  if (!isTenantScope(scope)) return false;
  return hasScope(granted, 'tenant:admin') || hasScope(granted, scope);
}
