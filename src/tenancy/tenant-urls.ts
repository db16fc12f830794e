// A tenant's URLs as its answers list them (`urls`, `install_url`), from BASE_DOMAINS and its home instance's
// services (core/tenancy/tenant-urls has the rule).
import { baseDomainsOf } from '../core/http/base-domains';
import { type BaseDomain, DEFAULT_SERVICE } from '../core/http/host';
import { pagesUrl, type TenantUrl, tenantUrls } from '../core/tenancy/tenant-urls';
import type { TenantView } from '../db/tenants';
import type { Bindings } from '../env';

/** What a tenant's URLs are made of besides the tenant: the base domains as configured, the local port. */
export type TenantHosts = { baseDomains: readonly BaseDomain[]; localPort?: string };

export function tenantHostsOf(env: Pick<Bindings, 'BASE_DOMAINS' | 'PORT'>): TenantHosts {
  return { baseDomains: baseDomainsOf(env.BASE_DOMAINS).listed, localPort: env.PORT || undefined };
}

export function urlsOf(view: TenantView, hosts: TenantHosts): TenantUrl[] {
  return tenantUrls({
    slug: view.tenant.slug,
    instance: view.instance,
    services: [DEFAULT_SERVICE, ...(view.homeServices ?? [])],
    ...hosts,
  });
}

/**
 * A page of the gateway's for the tenant (`path` under `/_gateway`: install, console, a recovery link): on
 * its `gui` service's host when there is one, else the first of its URLs.
 */
export function gatewayPageUrl(view: TenantView, hosts: TenantHosts, path: string): string | null {
  const base = pagesUrl(urlsOf(view, hosts));
  return base === null ? null : `${base}${path}`;
}

/** Where a pending tenant installs itself. */
export function installUrl(view: TenantView, hosts: TenantHosts): string | null {
  return gatewayPageUrl(view, hosts, '/_gateway/install');
}
