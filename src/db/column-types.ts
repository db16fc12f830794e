// The one definition of what the JSON columns hold and of the status enums: zod schemas, from which
// db/schema.ts takes its column types (`$type<…>` of their `z.infer`) and tenancy builds the API's schemas
// (it adds the OpenAPI component names; the examples live here, with the fields). The JSON columns' shapes are
// the API's too, so they stay snake_case.
//
// The schemas are built on the zod the caller passes (tenancy passes @hono/zod-openapi's): under the Workers
// test runtime that package loads a zod of its own, and only its schemas have `.openapi()`. db itself needs
// only their types, and knows no Hono.
import type { z as Zod } from 'zod';
import { MAX_FREE_JSON_DEPTH, nestingDepth } from '../core/http/input';
import { isValidScope } from '../core/tenancy/scopes';

/** A service of an instance as stored (DESIGN.md "Instances": `services`): the checked, normalised URLs. */
export type InstanceService = { upstreams: string[]; timeout_ms: number };
/** By service name (a DNS label, never `default`: that is the instance's own upstreams). */
export type InstanceServices = Record<string, InstanceService>;

export const TENANT_STATUSES = ['pending', 'active', 'suspended'] as const;
export const EVENT_STATUSES = ['pending', 'delivered', 'failed'] as const;

const MAX_SETTINGS_BYTES = 64 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The column schemas, built on `z`. */
export function columnSchemas(z: typeof Zod) {
  const PathPattern = z
    .string()
    .max(512)
    .regex(/^(\*|\/\S*)$/, 'a path starts with / (a trailing /* matches everything below), or is *')
    .meta({ example: '/static/*' });
  // An instance's upstreams and timeout, and a tenant's own (`upstream`): one schema for both, the URL rules
  // (core/http/upstream-url, which depend on ALLOW_PRIVATE_UPSTREAMS) checked by the routes after it.
  const Upstreams = z
    .array(z.string().max(2048))
    .min(1)
    .max(16)
    .meta({
      description: 'Absolute http(s) URLs, tried in order; no credentials, query or fragment',
      example: ['https://backend1.internal.example.com'],
    });
  const TimeoutMs = z.number().int().min(100).max(300_000).meta({ description: 'Default 30000' });
  return {
    Upstreams,
    TimeoutMs,
    TenantUpstream: z.strictObject({
      upstreams: Upstreams,
      timeout_ms: TimeoutMs.default(DEFAULT_TIMEOUT_MS),
    }),
    TenantStatus: z.enum(TENANT_STATUSES),
    EventStatus: z.enum(EVENT_STATUSES),
    RateLimit: z.strictObject({
      requests_per_minute: z.number().int().min(1).nullable().default(null),
      requests_per_day: z.number().int().min(1).nullable().default(null),
    }),
    TenantAuth: z.strictObject({
      mode: z.enum(['required', 'optional', 'none']).default('required'),
      public_paths: z.array(PathPattern).max(100).default([]),
    }),
    TenantRoute: z.strictObject({
      methods: z
        .array(
          z
            .string()
            .regex(/^[A-Za-z]{1,20}$/, 'an HTTP method such as GET')
            .transform((m) => m.toUpperCase()),
        )
        .max(16)
        .optional(),
      path: PathPattern,
      scope: z.string().refine(isValidScope, 'not a valid scope').meta({ example: 'proxy:read' }),
    }),
    TenantLimits: z.strictObject({
      on_gate_error: z.enum(['closed', 'open']).default('closed'),
      // When the ChangeFeed cannot be reached: keep serving the cached snapshot, or refuse once it is
      // unconfirmed for more than 10 s (DESIGN.md, Limiter failure policy).
      on_stale: z.enum(['serve', 'refuse']).default('serve'),
      // `shadow`: counted exactly as if enforced, but a request a limit would refuse passes (DESIGN.md, Limiter
      // failure policy), counted as `would_limit`, with the would-be RateLimit headers.
      mode: z.enum(['enforce', 'shadow']).default('enforce'),
    }),
    TenantSettings: z
      .record(z.string(), z.unknown())
      .refine(
        (s) => JSON.stringify(s).length <= MAX_SETTINGS_BYTES,
        'settings must be at most 64 KiB of JSON',
      )
      .refine(
        (s) => nestingDepth(s) <= MAX_FREE_JSON_DEPTH,
        `settings may nest at most ${MAX_FREE_JSON_DEPTH} levels deep`,
      )
      .meta({ description: "Free JSON object for the tenant's own configuration" }),
  };
}

type Columns = ReturnType<typeof columnSchemas>;

export type TenantStatus = Zod.infer<Columns['TenantStatus']>;
export type EventStatus = Zod.infer<Columns['EventStatus']>;
export type RateLimit = Zod.infer<Columns['RateLimit']>;
export type TenantAuth = Zod.infer<Columns['TenantAuth']>;
export type TenantRoute = Zod.infer<Columns['TenantRoute']>;
/** As stored: rows written before `on_stale` and `mode` existed lack them (read as `serve`, `enforce`). */
export type TenantLimits = Omit<Zod.infer<Columns['TenantLimits']>, 'on_stale' | 'mode'> &
  Partial<Pick<Zod.infer<Columns['TenantLimits']>, 'on_stale' | 'mode'>>;
export type TenantSettings = Zod.infer<Columns['TenantSettings']>;
export type TenantUpstream = Zod.infer<Columns['TenantUpstream']>;
/**
 * A tenant's injected headers as stored: by name, each value sealed (core/crypto/seal, SEALING_KEY), never in
 * the clear, with when it was last set. The API shows only `{set: true, updated_at}`.
 */
export type SealedHeaders = Record<string, { sealed: string; updated_at: string }>;
