// Pieces every control route declaration shares: the error shape, list pages, and the responses each
// status code documents.
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'not_found' }),
      message: z.string(),
      request_id: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS = {
  400: 'Malformed request (`bad_request`), e.g. invalid JSON',
  401: 'No API key (`missing_api_key`) or an unknown, revoked or expired one (`invalid_api_key`)',
  403: 'The key lacks the scope (`insufficient_scope`)',
  404: 'No such resource, or one the key may not see (`not_found`)',
  409: 'Conflicts with the current state (`conflict`, `slug_conflict`, …)',
  415: 'The body is not `application/json` (`unsupported_media_type`)',
  422: 'The request is not valid (`validation_failed`, with `details`)',
  503: 'The database is unavailable (`database_unavailable`)',
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** The error responses of an authenticated route: always 401, 403, 422 and 503, plus those named. */
export function errorResponses(...extra: ErrorStatus[]) {
  const statuses = new Set<ErrorStatus>([401, 403, 422, 503, ...extra]);
  const responses: Partial<
    Record<
      ErrorStatus,
      { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }
    >
  > = {};
  for (const status of [...statuses].sort()) {
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status],
      content: { 'application/json': { schema: ErrorSchema } },
    };
  }
  return responses;
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
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

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'Page size, 1..200' }),
  cursor: z.string().max(512).optional().openapi({ description: '`next_cursor` of the previous page' }),
});

export const TenantParam = z.object({
  tenant: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'tenant', in: 'path' }, example: 'acme' }),
});
