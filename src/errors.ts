import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, type ErrorCode, type ErrorDetail } from './core/http/error-codes';
import { logError } from './core/http/log';
import { isForeignKeyViolation, uniqueViolation } from './db/conflict';
import { isDatabaseUnavailable } from './db/unavailable';

export { ApiError, type ErrorDetail };

type ValidationIssue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/** zod issues as the contract's details; an unknown field is named in its own path, not its parent's. */
export function validationDetails(issues: readonly ValidationIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys' && issue.keys?.length)
      return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: 'Unknown field' }));
    return [{ path: at.join('.'), message: issue.message }];
  });
}

// Auth and limit answers must never be cached by a shared cache.
const NO_STORE_CODES = new Set<ErrorCode>([
  'missing_api_key',
  'invalid_api_key',
  'insufficient_scope',
  'rate_limited',
  'quota_exceeded',
  'limiter_unavailable',
  'invalid_install_token',
  'invalid_recovery_token',
]);

export function errorResponse(error: ApiError, requestId: string): Response {
  const body: Record<string, unknown> = { code: error.code, message: error.message, request_id: requestId };
  if (error.details) body.details = error.details;
  const headers = new Headers(error.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('x-request-id', requestId);
  if (NO_STORE_CODES.has(error.code)) headers.set('cache-control', 'no-store');
  if (error.status === 401) headers.set('www-authenticate', 'Bearer');
  return new Response(JSON.stringify({ error: body }), { status: error.status, headers });
}

// Hono's own client errors (body limit, malformed input) by their status; any other is a 400 bad_request.
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * For `app.onError`: known errors as they are, database outages as 503, constraint violations a route did not
 * name (a race with a concurrent write) as 409, Hono's own client errors as 400, everything else as a bare 500.
 */
export function renderError(err: unknown, c: Context): Response {
  const requestId = (c.get('requestId') as string | undefined) ?? '-';
  if (err instanceof ApiError) return errorResponse(err, requestId);
  if (isDatabaseUnavailable(err)) {
    return errorResponse(new ApiError('database_unavailable', 'The database is unavailable'), requestId);
  }
  if (uniqueViolation(err) !== null || isForeignKeyViolation(err)) {
    const message = 'This conflicts with a concurrent change; read the resource again and retry';
    return errorResponse(new ApiError('conflict', message), requestId);
  }
  if (err instanceof HTTPException && err.status >= 400 && err.status < 500) {
    const code = HTTP_EXCEPTION_CODES[err.status] ?? 'bad_request';
    return errorResponse(new ApiError(code, err.message || undefined), requestId);
  }
  logError({ at: 'request', request_id: requestId, route: c.req.routePath, status: 500 }, err);
  return errorResponse(new ApiError('internal_error', 'Internal error'), requestId);
}
