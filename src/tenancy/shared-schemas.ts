// Pieces of the resources' JSON that several of them share: timestamps, the JSON columns' schemas, rate
// limits, the status enums, and the answers' form of a request object.
import { z } from '@hono/zod-openapi';
import { columnSchemas } from '../db/column-types';

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-04-20T12:00:00.000Z' });

/** The JSON columns' schemas and the status enums (db/column-types.ts), on the zod that has `.openapi()`. */
export const columns = columnSchemas(z);

export const TenantStatusSchema = columns.TenantStatus;
export const EventStatusSchema = columns.EventStatus;

type Undefaulted<S extends z.ZodRawShape> = {
  [K in keyof S]: S[K] extends z.ZodDefault<infer T> ? T : S[K];
};

/**
 * The answers' form of a request object whose fields have defaults: the same fields, each always present.
 * Requests and answers get separate schemas so that a client generated from the document may leave out in
 * a request what the server fills in, and can rely on it in the answer.
 */
export function answerForm<S extends z.ZodRawShape>(
  request: z.ZodObject<S>,
  name: string,
  description?: string,
) {
  const shape = Object.fromEntries(
    Object.entries(request.shape).map(([key, field]) => [
      key,
      field instanceof z.ZodDefault ? field.unwrap() : field,
    ]),
  ) as Undefaulted<S>;
  return z.object(shape).openapi(name, description === undefined ? {} : { description });
}

/** A rate limit in a request: a field left out is null (unlimited). */
export const RateLimitSchema = columns.RateLimit.openapi('RateLimitInput', {
  description: 'null or left out = unlimited',
});

/** A rate limit in an answer. */
export const RateLimitJson = answerForm(RateLimitSchema, 'RateLimit', 'null = unlimited');
