// The one table of error codes (DESIGN.md "Errors"): each code's HTTP status and default message. The
// error type takes a code from it, the renderer (src/errors.ts) writes the contract's JSON shape, and the
// OpenAPI document's code enum and per-status descriptions come from it.

export const ERROR_CODES = {
  bad_request: { status: 400, message: 'The request is malformed' },
  invalid_host: { status: 400, message: 'The Host header is not a valid host name' },
  missing_api_key: { status: 401, message: 'An API key is required' },
  invalid_api_key: { status: 401, message: 'The API key is not valid' },
  insufficient_scope: { status: 403, message: 'The API key lacks the scope this needs' },
  tenant_suspended: { status: 403, message: 'The tenant is suspended' },
  invalid_install_token: { status: 403, message: 'The install token is not valid' },
  csrf_rejected: { status: 403, message: 'The form was not sent from this site' },
  invalid_recovery_token: { status: 403, message: 'The recovery link is not valid' },
  not_found: { status: 404, message: 'Not found' },
  unknown_host: { status: 404, message: 'No tenant answers on this host' },
  method_not_allowed: { status: 405, message: 'This method is not allowed here' },
  conflict: { status: 409, message: 'This conflicts with the current state' },
  slug_conflict: { status: 409, message: 'The slug is taken' },
  default_tenant_protected: { status: 409, message: 'The default tenant cannot be deleted' },
  instance_in_use: { status: 409, message: 'Tenants are placed on this instance' },
  instance_full: { status: 409, message: 'No instance has room for another tenant' },
  tenant_not_installed: { status: 409, message: 'The tenant is not installed yet' },
  payload_too_large: { status: 413, message: 'The body is too large' },
  unsupported_media_type: { status: 415, message: 'The body must be application/json' },
  slug_reserved: { status: 422, message: 'The slug is reserved' },
  validation_failed: { status: 422, message: 'The request is not valid' },
  rate_limited: { status: 429, message: 'Too many requests' },
  quota_exceeded: { status: 429, message: 'The daily quota is used up' },
  internal_error: { status: 500, message: 'Internal error' },
  upstream_unavailable: { status: 502, message: 'The upstream cannot be reached' },
  database_unavailable: { status: 503, message: 'The database is unavailable' },
  limiter_unavailable: { status: 503, message: 'The rate limiter cannot be reached' },
  console_unavailable: { status: 503, message: 'The console is unavailable' },
  upstream_timeout: { status: 504, message: 'The upstream did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode]['status'];

export type ErrorDetail = { path: string; message: string };

/** The one error type: thrown anywhere, rendered by `renderError` in the contract's JSON shape. */
export class ApiError extends Error {
  readonly status: ErrorStatus;

  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code].message,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code].status;
  }
}

/** The codes a status can carry, for the OpenAPI descriptions. */
export function codesOfStatus(status: number): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].status === status);
}
