// The path an upstream receives: its base path followed by the client's path and query, and never anything
// above the base path.
//
// The client's path has been through the WHATWG URL parser, which resolves `.` and `..` (also written
// `%2e`) and turns `\` into `/`. What can still climb out of the base path is a dot segment that only
// becomes one after an upstream decodes it: `/..%2f..%2fadmin`, `/..%5cadmin`, or `/..;/admin` (servlet
// containers drop `;params`). Such paths are refused. Paths without `%`, `\`, `;` or `/.` skip the check.

const NEEDS_CHECK = /[%\\;]|\/\./;
const ENCODED_DOT = /%2e/gi;
const ENCODED_SEPARATOR = /%2f|%5c|\\/gi;

function isDotSegment(segment: string): boolean {
  const semicolon = segment.indexOf(';');
  const name = semicolon === -1 ? segment : segment.slice(0, semicolon);
  return name === '.' || name === '..';
}

/** Whether `path` (no query) holds a segment an upstream could read as `.` or `..`. */
export function hasDotSegment(path: string): boolean {
  if (!NEEDS_CHECK.test(path)) return false;
  const decoded = path.replace(ENCODED_DOT, '.').replace(ENCODED_SEPARATOR, '/');
  return decoded.split('/').some(isDotSegment);
}

/**
 * `basePath` (no trailing slash, `''` for none) followed by `pathAndQuery`, or null when the client path
 * does not start with `/` or could climb above the base path once decoded (`400 bad_request`).
 */
export function joinUpstreamPath(basePath: string, pathAndQuery: string): string | null {
  if (pathAndQuery.charCodeAt(0) !== 47) return null;
  const query = pathAndQuery.indexOf('?');
  const path = query === -1 ? pathAndQuery : pathAndQuery.slice(0, query);
  if (hasDotSegment(path)) return null;
  return basePath + pathAndQuery;
}

/** An upstream base URL split into what `fetch` needs and the path prefix the upstream sees. */
export function splitUpstreamBase(base: string): { origin: string; basePath: string } {
  const url = new URL(base);
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, basePath };
}
