// Pieces of the resources' JSON that several of them share: timestamps, the JSON columns' schemas, rate
// limits and the status enums.
import { z } from '@hono/zod-openapi';
import { columnSchemas } from '../db/column-types';

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-04-20T12:00:00.000Z' });

/** The JSON columns' schemas and the status enums (db/column-types.ts), on the zod that has `.openapi()`. */
export const columns = columnSchemas(z);

export const RateLimitSchema = columns.RateLimit.openapi('RateLimit', { description: 'null = unlimited' });
export const TenantStatusSchema = columns.TenantStatus;
export const EventStatusSchema = columns.EventStatus;
