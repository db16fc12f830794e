// What config apply knows of a file before it reads the database: every problem found at once with its path
// in the file, and what each instance and tenant declares.
import type { Context } from 'hono';
import { repeatedNames } from '../core/tenancy/config-diff';
import { slugify } from '../core/tenancy/slug';
import type { InstanceServices } from '../db/schema';
import type { TenantView } from '../db/tenants';
import type { AppEnv } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { DEFAULT_TIMEOUT_MS } from '../tenancy/instance-schemas';
import { tenantFields, withTenantDefaults } from '../tenancy/tenant-schemas';
import type { ConfigFile, ConfigTenant } from './config-schema';
import { checkUrls } from './instance-input';
import { requestedDomains, requestedUpstream } from './tenants';

export type Ctx = Context<AppEnv>;

export function invalid(details: ErrorDetail[]): ApiError {
  return new ApiError('validation_failed', 'The configuration is not valid', details);
}

/** A resource API's 422 with its paths moved to where the object sits in the file. */
export function located(prefix: string, err: unknown): unknown {
  if (!(err instanceof ApiError) || !err.details) return err;
  const details = err.details.map((d) => ({ ...d, path: `${prefix}.${d.path}` }));
  return new ApiError(err.code, 'The configuration is not valid', details, err.headers);
}

export async function within<T>(prefix: string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    throw located(prefix, err);
  }
}

export const sorted = (names: readonly string[]) => [...names].sort();

export type WantedInstance = {
  index: number;
  name: string;
  upstreams: string[];
  timeout_ms: number;
  services: InstanceServices;
  hooks_url: string | null;
  max_tenants: number | null;
  draining: boolean;
};
export type WantedTenant = {
  index: number;
  slug: string;
  body: ConfigTenant;
  domains: string[];
  /** Its own backend, URLs normalised; null for its instances'. */
  upstream: ConfigTenant['upstream'];
};

/**
 * `{from_env: NAME}` in a file is for `npm run config:apply` to resolve from the operator's environment: the
 * gateway never reads its own for a value, so one that reaches it is refused, by name, before anything else.
 */
export function refuseUnresolvedEnv(file: unknown): void {
  const declared = (file as { tenants?: unknown } | null)?.tenants;
  if (!Array.isArray(declared)) return;
  const details: ErrorDetail[] = [];
  declared.forEach((tenant: unknown, index) => {
    const headers = (tenant as { inject_headers?: unknown } | null)?.inject_headers;
    if (!headers || typeof headers !== 'object') return;
    for (const [name, value] of Object.entries(headers)) {
      if (value && typeof value === 'object' && 'from_env' in value) {
        details.push({
          path: `tenants.${index}.inject_headers.${name}`,
          message:
            '{from_env} is resolved by `npm run config:apply` from its own environment; the gateway takes literal values only',
        });
      }
    }
  });
  if (details.length > 0) throw invalid(details);
}

/** Everything that can be checked without the database; every problem at once, with its path in the file. */
export function checkFile(
  c: Ctx,
  file: ConfigFile,
): { instances: WantedInstance[]; tenants: WantedTenant[] } {
  const details: ErrorDetail[] = [];
  const collect = <T>(prefix: string, check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      const moved = located(prefix, err);
      if (moved instanceof ApiError && moved.status === 422 && moved.details) details.push(...moved.details);
      else throw moved;
    }
  };
  const wantedInstances = file.instances.map((inst, i) => {
    const urls = collect(`instances.${i}`, () => checkUrls(c, inst));
    return {
      index: i,
      name: inst.name,
      upstreams: urls?.upstreams ?? [],
      timeout_ms: inst.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      services: urls?.services ?? {},
      hooks_url: urls?.hooksUrl ?? null,
      max_tenants: inst.max_tenants ?? null,
      draining: inst.draining ?? false,
    };
  });
  for (const { index, name } of repeatedNames(file.instances.map((i) => i.name))) {
    details.push({ path: `instances.${index}.name`, message: `instance ${name} is declared twice` });
  }
  const wantedTenants = file.tenants.map((body, index) => {
    const slug = slugify(body.slug ?? body.name);
    const domains = collect(`tenants.${index}`, () => requestedDomains(c, body)) ?? [];
    const upstream = collect(`tenants.${index}`, () => requestedUpstream(c, body.upstream ?? null)) ?? null;
    for (const repeat of repeatedNames((body.keys ?? []).map((k) => k.name))) {
      details.push({
        path: `tenants.${index}.keys.${repeat.index}.name`,
        message: `key ${repeat.name} is declared twice`,
      });
    }
    return { index, slug, body, domains: sorted(domains), upstream };
  });
  for (const { index, name } of repeatedNames(wantedTenants.map((t) => t.slug))) {
    details.push({ path: `tenants.${index}.slug`, message: `tenant ${name} is declared twice` });
  }
  if (details.length > 0) throw invalid(details);
  return { instances: wantedInstances, tenants: wantedTenants };
}

/**
 * The tenant fields a file declares, in the shape of the tenant's JSON. Without `instance`, an existing
 * tenant (`current`) keeps its home, and its placements unless the file names some; a new one is placed by
 * capacity when it is created.
 */
export function declaredTenant(want: WantedTenant, current?: TenantView) {
  const { body } = want;
  const { rate_limit, auth, routes, limits, settings } = withTenantDefaults(body);
  const home = body.instance ?? current?.instance ?? undefined;
  const placements = body.instances ?? (body.instance === undefined ? current?.instances : undefined) ?? [];
  return {
    name: body.name,
    status: body.status,
    instance: home,
    instances: home === undefined ? undefined : sorted([...new Set([home, ...placements])]),
    domains: want.domains,
    ...{ rate_limit, auth, routes, limits, settings },
    upstream: want.upstream,
  };
}

export function currentTenant(view: TenantView) {
  const json = tenantFields(view);
  return { ...json, instances: sorted(json.instances), domains: sorted(json.domains) };
}
