// The tenant resource: its JSON shape, the bodies that create and change it, and the row → JSON mapping.
import { z } from '@hono/zod-openapi';
import { MAX_FREE_JSON_DEPTH, nestingDepth } from '../core/http/input';
import { isValidScope } from '../core/tenancy/scopes';
import type { TenantAuth, TenantLimits } from '../db/schema';
import type { TenantView } from '../db/tenants';
import { answerForm, RateLimitJson, RateLimitSchema, Timestamp } from './shared-schemas';

const MAX_SETTINGS_BYTES = 64 * 1024;

const PathPattern = z
  .string()
  .max(512)
  .regex(/^(\*|\/\S*)$/, 'a path starts with / (a trailing /* matches everything below), or is *')
  .openapi({ example: '/static/*' });

const Scope = z.string().refine(isValidScope, 'not a valid scope').openapi({ example: 'proxy:read' });

const AuthSchema = z
  .strictObject({
    mode: z.enum(['required', 'optional', 'none']).default('required'),
    public_paths: z.array(PathPattern).max(100).default([]),
  })
  .openapi('TenantAuthInput');

const AuthJson = answerForm(AuthSchema, 'TenantAuth');

const RouteRuleSchema = z
  .strictObject({
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
    scope: Scope,
  })
  .openapi('TenantRoute', { example: { methods: ['POST'], path: '/emails/*', scope: 'send' } });

const LimitsSchema = z
  .strictObject({
    on_gate_error: z.enum(['closed', 'open']).default('closed'),
    // When the ChangeFeed cannot be reached: keep serving the cached snapshot, or refuse once it is
    // unconfirmed for more than 10 s (DESIGN.md, Limiter failure policy).
    on_stale: z.enum(['serve', 'refuse']).default('serve'),
  })
  .openapi('TenantLimitsInput');

const LimitsJson = answerForm(LimitsSchema, 'TenantLimits');

const Settings = z
  .record(z.string(), z.unknown())
  .refine((s) => JSON.stringify(s).length <= MAX_SETTINGS_BYTES, 'settings must be at most 64 KiB of JSON')
  .refine(
    (s) => nestingDepth(s) <= MAX_FREE_JSON_DEPTH,
    `settings may nest at most ${MAX_FREE_JSON_DEPTH} levels deep`,
  )
  .openapi({ description: "Free JSON object for the tenant's own configuration" });

const Hostname = z.string().max(300).openapi({ example: 'api.acme.com' });

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: 'ten_8fQ2kLm0Zp4R7sT1uV3w' }),
    name: z.string().openapi({ example: 'Acme Inc.' }),
    slug: z.string().openapi({ example: 'acme' }),
    schema_name: z.string().openapi({ example: 't_acme' }),
    status: z.enum(['pending', 'active', 'suspended']),
    instance: z.string().nullable().openapi({ description: 'Home instance name' }),
    instances: z.array(z.string()).openapi({ description: 'Instances it is placed on (includes home)' }),
    domains: z.array(z.string()).openapi({ description: 'Custom domain hostnames' }),
    rate_limit: RateLimitJson.nullable(),
    auth: AuthJson,
    routes: z.array(RouteRuleSchema),
    limits: LimitsJson,
    settings: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Tenant');

export type TenantJson = z.infer<typeof TenantSchema>;

export function toTenantJson(view: TenantView): TenantJson {
  const { tenant } = view;
  return {
    id: tenant.id,
    name: tenant.name,
    slug: tenant.slug,
    schema_name: tenant.schemaName,
    status: tenant.status,
    instance: view.instance,
    instances: view.instances,
    domains: view.domains,
    rate_limit: tenant.rateLimit,
    auth: tenant.auth,
    routes: tenant.routes,
    limits: { on_stale: 'serve', ...tenant.limits },
    settings: tenant.settings,
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

// Every mutable field; PUT takes all of them (omitted optional ones reset to their defaults).
const mutableFields = {
  name: z.string().trim().min(1).max(200).openapi({ example: 'Acme Inc.' }),
  instance: z.string().min(1).max(63).openapi({ description: 'Home instance name', example: 'instance1' }),
  instances: z
    .array(z.string().min(1).max(63))
    .max(50)
    .optional()
    .openapi({ description: 'Placements; the home instance is always added' }),
  domains: z.array(Hostname).max(100).optional().openapi({ description: 'Custom domains' }),
  domain: Hostname.optional().openapi({ description: 'One custom domain (shorthand for `domains`)' }),
  rate_limit: RateLimitSchema.nullable().optional(),
  auth: AuthSchema.optional(),
  routes: z.array(RouteRuleSchema).max(200).optional(),
  limits: LimitsSchema.optional(),
  settings: Settings.optional(),
};

const Status = z
  .enum(['active', 'suspended'])
  .openapi({ description: 'Set by operators; `pending` until install' });

export const CreateTenant = z
  .strictObject({
    ...mutableFields,
    slug: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: 'Default: from `name`; non-alphanumerics removed', example: 'acme' }),
  })
  .openapi('TenantCreate');

export const ReplaceTenant = z
  .strictObject({
    ...mutableFields,
    status: Status.optional().openapi({ description: 'Left as it is when omitted' }),
  })
  .openapi('TenantReplace');

export const UpdateTenant = z
  .strictObject({
    name: mutableFields.name.optional(),
    instance: mutableFields.instance.optional(),
    instances: mutableFields.instances,
    domains: mutableFields.domains,
    domain: mutableFields.domain,
    rate_limit: mutableFields.rate_limit,
    auth: mutableFields.auth,
    routes: mutableFields.routes,
    limits: mutableFields.limits,
    settings: mutableFields.settings,
    status: Status.optional(),
  })
  .openapi('TenantUpdate');

export const DEFAULT_AUTH: TenantAuth = { mode: 'required', public_paths: [] };
export const DEFAULT_LIMITS: TenantLimits = { on_gate_error: 'closed', on_stale: 'serve' };

type Defaulted = 'rate_limit' | 'auth' | 'routes' | 'limits' | 'settings';

/** A create's or PUT's optional fields with the defaults of those left out. */
export function withTenantDefaults<T extends Partial<Pick<z.infer<typeof CreateTenant>, Defaulted>>>(
  body: T,
) {
  return {
    ...body,
    rate_limit: body.rate_limit ?? null,
    auth: body.auth ?? DEFAULT_AUTH,
    routes: body.routes ?? [],
    limits: body.limits ?? DEFAULT_LIMITS,
    settings: body.settings ?? {},
  };
}
