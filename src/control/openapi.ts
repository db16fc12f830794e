// Pieces every control route declaration shares: the error shapes, list pages, the response headers, and
// the responses each status code documents (DESIGN.md "OpenAPI and clients").
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { codesOfStatus, ERROR_CODES, type ErrorCode } from '../core/http/error-codes';
import { hasUnsafeCharacter } from '../core/http/input';

// Codes only the data plane and the tenant host's pages answer: no control API operation can return them,
// so their statuses' error schemas leave them out (the full table is the `ErrorCode` enum).
const DATA_PLANE_CODES = new Set<ErrorCode>([
  'unknown_host',
  'tenant_suspended',
  'invalid_install_token',
  'csrf_rejected',
  'invalid_recovery_token',
  'rate_limited',
  'quota_exceeded',
  'upstream_unavailable',
  'upstream_timeout',
  'limiter_unavailable',
  'console_unavailable',
]);

/** Every code of the one table, as an enum: what any `error.code` of the gateway may be. */
const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi('ErrorCode', {
  description: `Every error code of the gateway, data plane included: ${(
    Object.keys(ERROR_CODES) as ErrorCode[]
  )
    .map((code) => `\`${code}\` (${ERROR_CODES[code].status})`)
    .join(', ')}`,
});

// What each documented status means, and its response's name among the components; the codes it can carry
// come from the one table.
const STATUSES = {
  400: [
    'BadRequest',
    'Malformed request: invalid JSON, a duplicate JSON key, conflicting framing or an invalid host',
  ],
  401: ['Unauthorized', 'No API key, or an unknown, revoked or expired one'],
  403: ['Forbidden', 'The key lacks the scope, or the action is refused'],
  404: ['NotFound', 'No such resource, or one the key may not see'],
  409: ['Conflict', 'Conflicts with the current state'],
  413: ['PayloadTooLarge', 'The body is too large'],
  415: ['UnsupportedMediaType', 'The body is not `application/json`'],
  422: ['ValidationFailed', 'The request is not valid (with `details`)'],
  500: ['InternalError', 'Internal error; nothing else is said'],
  503: ['DatabaseUnavailable', 'The database is unavailable'],
} as const;

type DocumentedStatus = keyof typeof STATUSES;

/** The codes the control API answers with `status`. */
export function controlCodesOf(status: number): ErrorCode[] {
  return codesOfStatus(status).filter((code) => !DATA_PLANE_CODES.has(code));
}

function errorSchemaOf(status: DocumentedStatus) {
  const codes = controlCodesOf(status) as [ErrorCode, ...ErrorCode[]];
  return z
    .strictObject({
      error: z.strictObject({
        // One of the table's codes (the `ErrorCode` enum), narrowed to those of this status.
        code: z
          .enum(codes)
          .openapi({ example: codes[0], allOf: [{ $ref: '#/components/schemas/ErrorCode' }] }),
        message: z.string(),
        request_id: z.string(),
        details: z
          .array(z.strictObject({ path: z.string(), message: z.string() }))
          .optional()
          .openapi({ description: 'Which fields are wrong, and why' }),
      }),
    })
    .openapi({ description: `The error envelope of a ${status} answer` });
}

const DOCUMENTED = Object.keys(STATUSES).map(Number) as DocumentedStatus[];

/** The response headers the control API sends, as components: every answer, and the auth errors. */
const HEADERS = {
  'X-Request-Id': {
    description: "The request's id: the client's own `X-Request-Id` when it is sane, else a new one",
    schema: { type: 'string' as const },
  },
  'WWW-Authenticate': {
    description: '`Bearer`, on every 401',
    schema: { type: 'string' as const, example: 'Bearer' },
  },
  'Cache-Control': {
    description: '`no-store` on auth errors: no shared cache may keep them',
    schema: { type: 'string' as const, example: 'no-store' },
  },
};

const headerRef = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });
/** The headers of every answer. */
export const REQUEST_ID_HEADER = { 'X-Request-Id': headerRef('X-Request-Id') };

function errorHeaders(status: DocumentedStatus) {
  if (status === 401)
    return {
      ...REQUEST_ID_HEADER,
      'WWW-Authenticate': headerRef('WWW-Authenticate'),
      'Cache-Control': headerRef('Cache-Control'),
    };
  if (status === 403) return { ...REQUEST_ID_HEADER, 'Cache-Control': headerRef('Cache-Control') };
  return REQUEST_ID_HEADER;
}

/**
 * Registers what the operations reference: the headers, the full code enum, and one error response per
 * documented status (each operation names the statuses it can answer).
 */
export function registerSharedComponents(registry: OpenAPIHono['openAPIRegistry']) {
  for (const [name, header] of Object.entries(HEADERS)) registry.registerComponent('headers', name, header);
  registry.register('ErrorCode', ErrorCodeSchema);
  for (const status of DOCUMENTED) {
    const [name, meaning] = STATUSES[status];
    registry.register(`Error${status}`, errorSchemaOf(status));
    const codes = controlCodesOf(status).map((code) => `\`${code}\``);
    registry.registerComponent('responses', name, {
      description: `${meaning}: ${codes.join(', ')}`,
      headers: errorHeaders(status),
      content: { 'application/json': { schema: { $ref: `#/components/schemas/Error${status}` } } },
    });
  }
}

function responsesOf(statuses: Iterable<DocumentedStatus>) {
  const responses: Partial<Record<DocumentedStatus, { $ref: string }>> = {};
  for (const status of [...new Set(statuses)].sort())
    responses[status] = { $ref: `#/components/responses/${STATUSES[status][0]}` };
  return responses;
}

/**
 * The error responses of an authenticated route: 400 (the front door's refusals), 401, 403, 422, 500 and
 * 503 always, plus those named. A route that takes a body names `...BODY_ERRORS`.
 */
export function errorResponses(...extra: DocumentedStatus[]) {
  return responsesOf([400, 401, 403, 422, 500, 503, ...extra]);
}

/** A route that takes a JSON body can also answer these. */
export const BODY_ERRORS = [413, 415] as const;

/** The error responses of a public route that reads nothing: the front door's 400 and a 500. */
export function publicErrorResponses() {
  return responsesOf([400, 500]);
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, headers: REQUEST_ID_HEADER, content: { 'application/json': { schema } } };
}

/** A 204: no body, the request id still. */
export function noContent(description: string) {
  return { description, headers: REQUEST_ID_HEADER };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** Either header carries the key. */
export const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

export function page<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page' }),
    })
    .openapi(name);
}

/**
 * A path or query value: the characters the input rules refuse answer 422 here, before any query sees
 * them (Postgres refuses NUL in text, and would answer a 500).
 */
export function paramText(maxLength: number, minLength = 0) {
  return z
    .string()
    .min(minLength)
    .max(maxLength)
    .refine((text) => !hasUnsafeCharacter(text), 'control and bidi-override characters are not allowed');
}

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'Page size, 1..200' }),
  cursor: paramText(512).optional().openapi({ description: '`next_cursor` of the previous page' }),
});

export const TenantParam = z.object({
  tenant: paramText(128, 1).openapi({ param: { name: 'tenant', in: 'path' }, example: 'acme' }),
});
