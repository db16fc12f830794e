// The URLs an operator hands to a tenant (DESIGN.md "Host resolution", Services): one per base domain whose
// service the tenant's home instance has, always on the tenant's gateway host `{slug}.{instance}.{base}`,
// which works as soon as the wildcard DNS does (a custom domain may not point here yet).
import type { BaseDomain } from '../http/host';

export type TenantUrl = { service: string; base_domain: string; url: string };

export type TenantUrlsInput = {
  slug: string;
  /** The home instance; none, no URL. */
  instance: string | null;
  /** The home instance's services, `default` among them. */
  services: readonly string[];
  /** As configured (BASE_DOMAINS order). */
  baseDomains: readonly BaseDomain[];
  /** The port `npm run dev` and `npm start` listen on (PORT); unset in production. */
  localPort?: string;
};

/** `localhost` and names under it (RFC 6761) loop back: served locally over http, never with a certificate. */
function isLocal(domain: string): boolean {
  return domain === 'localhost' || domain.endsWith('.localhost');
}

/** `https://{slug}.{instance}.{base}` for each base domain whose service the home instance has. */
export function tenantUrls(input: TenantUrlsInput): TenantUrl[] {
  const { slug, instance } = input;
  if (instance === null) return [];
  return input.baseDomains
    .filter((base) => input.services.includes(base.service))
    .map(({ domain, service }) => {
      const host = `${slug}.${instance}.${domain}`;
      const url = isLocal(domain)
        ? `http://${host}${input.localPort ? `:${input.localPort}` : ''}`
        : `https://${host}`;
      return { service, base_domain: domain, url };
    });
}

/** Where the tenant's own pages (install, console) live: the `gui` service's URL, else the first. */
export function pagesUrl(urls: readonly TenantUrl[]): string | null {
  return (urls.find((u) => u.service === 'gui') ?? urls[0])?.url ?? null;
}
