// Pieces of the resources' JSON that several of them share: timestamps and rate limits.
import { z } from '@hono/zod-openapi';

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-04-20T12:00:00.000Z' });

export const RateLimitSchema = z
  .strictObject({
    requests_per_minute: z.number().int().min(1).nullable().default(null),
    requests_per_day: z.number().int().min(1).nullable().default(null),
  })
  .openapi('RateLimit', { description: 'null = unlimited' });
