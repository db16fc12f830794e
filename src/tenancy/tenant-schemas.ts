// The tenant resource: its JSON shape, the bodies that create and change it, and the row → JSON mapping.
import { z } from '@hono/zod-openapi';
import {
  injectedNameProblem,
  injectedValueProblem,
  MAX_INJECTED_HEADERS,
  repeatedHeaderName,
} from '../core/http/inject-headers';
import type { TenantAuth, TenantLimits } from '../db/schema';
import type { TenantView } from '../db/tenants';
import {
  answerForm,
  columns,
  RateLimitJson,
  RateLimitSchema,
  TenantStatusSchema,
  Timestamp,
} from './shared-schemas';
import { type TenantHosts, urlsOf } from './tenant-urls';

// The JSON columns' schemas are db's (db/column-types.ts): here they get their OpenAPI component names, the
// requests' (defaults filled in by the server) apart from the answers' (every field present).
const AuthSchema = columns.TenantAuth.openapi('TenantAuthInput');
const AuthJson = answerForm(columns.TenantAuth, 'TenantAuth');
const RouteRuleSchema = columns.TenantRoute.openapi('TenantRoute', {
  example: { methods: ['POST'], path: '/emails/*', scope: 'send' },
});
const LimitsSchema = columns.TenantLimits.openapi('TenantLimitsInput');
const LimitsJson = answerForm(columns.TenantLimits, 'TenantLimits');

const Hostname = z.string().max(300).openapi({ example: 'api.acme.com' });

// A backend of the tenant's own, in the instances' schema (tenancy/instance-schemas: the same upstreams).
const UpstreamSchema = columns.TenantUpstream.openapi('TenantUpstreamInput', {
  description:
    "The tenant's own backend: replaces its instances' upstreams and timeout (requests are still signed " +
    "with the home instance's signing secret). null: the instances' own.",
});
const UpstreamJson = answerForm(columns.TenantUpstream, 'TenantUpstream');

const KeptHeader = z
  .strictObject({ set: z.literal(true), updated_at: Timestamp.optional() })
  .openapi('InjectedHeaderKept', {
    description: 'Keeps the stored value, as answers and exports show it (422 when none is stored)',
  });

const InjectHeadersSchema = z
  .record(z.string(), z.union([z.string(), KeptHeader]).nullable())
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_INJECTED_HEADERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_INJECTED_HEADERS} headers` });
    }
    const repeated = repeatedHeaderName(names);
    if (repeated !== null) {
      ctx.addIssue({
        code: 'custom',
        path: [repeated],
        message: 'named twice (names are compared without case)',
      });
    }
    for (const [name, value] of Object.entries(headers)) {
      const problem =
        injectedNameProblem(name) ?? (typeof value === 'string' ? injectedValueProblem(value) : null);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .openapi('InjectHeadersInput', {
    description:
      'Headers added to every request forwarded for the tenant, replacing a client header of the same name. ' +
      'Write-only: values are stored sealed and never shown again. null removes a header; a PATCH keeps the ' +
      `names it leaves out. At most ${MAX_INJECTED_HEADERS} headers of 4 KiB.`,
    example: { 'X-Smtp-Password': 'correct-horse-battery-staple' },
  });

const InjectedHeadersJson = z
  .record(z.string(), z.object({ set: z.literal(true), updated_at: Timestamp }))
  .openapi('InjectedHeaders', {
    description: 'The injected headers by name; their values are never returned',
    example: { 'X-Smtp-Password': { set: true, updated_at: '2026-04-20T12:00:00.000Z' } },
  });

const TenantUrlSchema = z
  .object({
    service: z.string().openapi({ example: 'gui' }),
    base_domain: z.string().openapi({ example: 'app.example.com' }),
    url: z.string().openapi({ example: 'https://acme.instance1.app.example.com' }),
  })
  .openapi('TenantUrl', {
    description: 'A URL of the tenant: on one base domain, reaching that service of its home instance',
  });

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: 'ten_8fQ2kLm0Zp4R7sT1uV3w' }),
    name: z.string().openapi({ example: 'Acme Inc.' }),
    slug: z.string().openapi({ example: 'acme' }),
    schema_name: z.string().openapi({ example: 't_acme' }),
    status: TenantStatusSchema,
    instance: z.string().nullable().openapi({ description: 'Home instance name' }),
    instances: z.array(z.string()).openapi({ description: 'Instances it is placed on (includes home)' }),
    domains: z.array(z.string()).openapi({ description: 'Custom domain hostnames' }),
    urls: z.array(TenantUrlSchema).openapi({
      description:
        'One per base domain whose service the home instance has: `https://{slug}.{instance}.{base}`, the URLs an operator hands to the tenant',
    }),
    rate_limit: RateLimitJson.nullable(),
    auth: AuthJson,
    routes: z.array(RouteRuleSchema),
    limits: LimitsJson,
    settings: z.record(z.string(), z.unknown()),
    upstream: UpstreamJson.nullable(),
    inject_headers: InjectedHeadersJson,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Tenant');

export type TenantJson = z.infer<typeof TenantSchema>;

/** A tenant as answered: its fields and its URLs. */
export function toTenantJson(view: TenantView, hosts: TenantHosts): TenantJson {
  const { created_at, updated_at, ...fields } = tenantFields(view);
  return { ...fields, urls: urlsOf(view, hosts), created_at, updated_at };
}

/** A tenant's own fields, without what BASE_DOMAINS makes of them: for its audit rows and config diffs. */
export function tenantFields(view: TenantView): Omit<TenantJson, 'urls'> {
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
    limits: { on_stale: 'serve', mode: 'enforce', ...tenant.limits },
    settings: tenant.settings,
    upstream: tenant.upstream,
    inject_headers: Object.fromEntries(
      Object.entries(tenant.injectHeaders).map(([name, h]) => [
        name,
        { set: true, updated_at: h.updated_at },
      ]),
    ),
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
  settings: columns.TenantSettings.optional(),
  upstream: UpstreamSchema.nullable().optional(),
  inject_headers: InjectHeadersSchema.optional(),
};

const Status = TenantStatusSchema.exclude(['pending']).openapi({
  description: 'Set by operators; `pending` until install',
});

export const CreateTenant = z
  .strictObject({
    ...mutableFields,
    instance: mutableFields.instance.optional().openapi({
      description:
        'Home instance name. Left out: the instance with the largest share of free capacity (an unlimited one counts as all free), ties by name, never a draining or full one',
    }),
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
    upstream: mutableFields.upstream,
    inject_headers: mutableFields.inject_headers,
    status: Status.optional(),
  })
  .openapi('TenantUpdate');

export const DEFAULT_AUTH: TenantAuth = columns.TenantAuth.parse({});
export const DEFAULT_LIMITS: TenantLimits = columns.TenantLimits.parse({});

type Defaulted = 'rate_limit' | 'auth' | 'routes' | 'limits' | 'settings' | 'upstream';

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
    upstream: body.upstream ?? null,
  };
}

/** What a request asks of the injected headers, by name. */
export type InjectHeadersEdits = NonNullable<z.infer<typeof UpdateTenant>['inject_headers']>;
