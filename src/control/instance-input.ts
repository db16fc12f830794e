// The instance bodies (create, change; config files' instances too) and the checks their zod schemas cannot
// make: upstream, service and hooks URLs by the upstream rules, service names, names that are base domain
// labels.
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { baseDomainsOf } from '../core/http/base-domains';
import { DEFAULT_SERVICE } from '../core/http/host';
import { checkUpstreamUrl } from '../core/http/upstream-url';
import { isDnsLabel } from '../core/tenancy/slug';
import type { InstanceServices } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { DEFAULT_TIMEOUT_MS, TimeoutMs, Upstreams } from '../tenancy/instance-schemas';

const MAX_SERVICES = 16;
const Services = z
  .record(
    z.string().max(63),
    z
      .strictObject({ upstreams: Upstreams, timeout_ms: TimeoutMs.optional() })
      .openapi('InstanceServiceInput'),
  )
  .refine((s) => Object.keys(s).length <= MAX_SERVICES, `at most ${MAX_SERVICES} services`)
  .openapi({
    description:
      'Services besides `default` (the instance’s own upstreams), by name (a DNS label): each has the same URL rules as the upstreams; timeout_ms default 30000',
    example: { gui: { upstreams: ['https://gui.internal.example.com'] } },
  });
const MaxTenants = z
  .number()
  .int()
  .min(0)
  .max(1_000_000)
  .nullable()
  .openapi({ description: 'null or left out = no limit; counts every tenant placed on it' });
const Draining = z.boolean().openapi({ description: 'Takes no new tenants (default false)' });
const HooksUrl = z
  .string()
  .max(2048)
  .nullable()
  .openapi({ description: 'Where lifecycle events are POSTed; same rules as upstreams' });

export const CreateInstance = z
  .strictObject({
    name: z
      .string()
      .refine(isDnsLabel, 'name must be a DNS label: a-z, 0-9 and inner -, at most 63 characters')
      .openapi({ example: 'instance1' }),
    upstreams: Upstreams,
    timeout_ms: TimeoutMs.optional(),
    services: Services.optional(),
    hooks_url: HooksUrl.optional(),
    max_tenants: MaxTenants.optional(),
    draining: Draining.optional(),
  })
  .openapi('InstanceCreate');

export const UpdateInstance = z
  .strictObject({
    upstreams: Upstreams.optional(),
    timeout_ms: TimeoutMs.optional(),
    services: Services.optional().openapi({ description: 'Replaces every service; `{}` removes them' }),
    hooks_url: HooksUrl.optional(),
    max_tenants: MaxTenants.optional(),
    draining: Draining.optional(),
  })
  .openapi('InstanceUpdate');

/** Each URL in its normalised form; a problem of any is added to `details` at `{path}.{index}`. */
export function normalisedUpstreams(
  c: Context<AppEnv>,
  upstreams: string[],
  path: string,
  details: ErrorDetail[],
): string[] {
  const allowPrivate = c.env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  return upstreams.map((raw, i) => {
    const check = checkUpstreamUrl(raw, { allowPrivate });
    if (!check.ok) details.push({ path: `${path}.${i}`, message: check.message });
    return check.ok ? check.url : raw;
  });
}

type UrlFields = {
  upstreams?: string[];
  hooks_url?: string | null;
  services?: Record<string, { upstreams: string[]; timeout_ms?: number }>;
};

/**
 * Upstream, service and hooks URLs in their normalised form (a service's timeout filled in), or 422 naming
 * each bad entry and each service name that is not a DNS label.
 */
export function checkUrls(
  c: Context<AppEnv>,
  body: UrlFields,
): { upstreams?: string[]; hooksUrl?: string | null; services?: InstanceServices } {
  const allowPrivate = c.env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  const details: ErrorDetail[] = [];
  const urls = (raws: string[], path: string) => normalisedUpstreams(c, raws, path, details);
  const upstreams = body.upstreams && urls(body.upstreams, 'upstreams');
  let services: InstanceServices | undefined;
  if (body.services) {
    services = {};
    for (const [name, service] of Object.entries(body.services)) {
      if (!isDnsLabel(name)) {
        details.push({ path: `services.${name}`, message: `service name ${name} is not a DNS label` });
      } else if (name === DEFAULT_SERVICE) {
        details.push({
          path: 'services.default',
          message: 'the default service is the instance’s own upstreams',
        });
      }
      services[name] = {
        upstreams: urls(service.upstreams, `services.${name}.upstreams`),
        timeout_ms: service.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      };
    }
  }
  let hooksUrl = body.hooks_url;
  if (hooksUrl) {
    const check = checkUpstreamUrl(hooksUrl, { allowPrivate });
    if (check.ok) hooksUrl = check.url;
    else details.push({ path: 'hooks_url', message: check.message });
  }
  if (details.length > 0) throw new ApiError('validation_failed', 'The request is not valid', details);
  return { upstreams, hooksUrl, services };
}

/**
 * 422 for an instance name that is a label of a base domain: `{tenant}.{name}.{base}` would read as a tenant
 * host on another base domain when base domains nest (`acme.app.example.com`).
 */
export function checkInstanceName(c: Context<AppEnv>, name: string, path = 'name'): ErrorDetail[] {
  const base = baseDomainsOf(c.env.BASE_DOMAINS).labels.get(name);
  return base === undefined ? [] : [{ path, message: `${name} is a label of base domain ${base}` }];
}

export function capacityOf(body: { max_tenants?: number | null; draining?: boolean }) {
  return { maxTenants: body.max_tenants, draining: body.draining };
}
