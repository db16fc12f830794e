// Host resolution (DESIGN.md "Host resolution"): normalise the Host the client sent, then decide whether it
// names the control API or a tenant. Both run on every request, so the common case avoids the URL parser and
// matchHost allocates nothing beyond the label it returns.

import { isDnsLabel, SLUG_MAX_LENGTH, slugFromLabel } from '../tenancy/slug';

export type HostMatch =
  | { kind: 'control' }
  | {
      kind: 'tenant';
      host: string;
      label: { slug: string; instance: string | null } | null;
      /** The service of the base domain the host is under (`default` when none). */
      service: string;
    };
export type TenantHostMatch = Extract<HostMatch, { kind: 'tenant' }>;

// Generous bound so garbage is refused before any parsing; IDN input may be shorter or longer than its
// punycode, so the real 253 limit is checked on the result.
const MAX_RAW_LENGTH = 1024;
const MAX_HOST_LENGTH = 253;

const PORT = /^\d{0,5}$/;
const ASCII_HOST = /^[a-z0-9.-]+$/;
// Any ASCII outside letters, digits, `.` and `-`, C1 controls and Unicode whitespace. The URL parser would
// silently strip tabs and newlines or split on `/`, `@`, `?`, `#`, `\`, so they must never reach it.
const FORBIDDEN_HOST_CHAR = /[^A-Za-z0-9.\-\u00a0-\u{10ffff}]|\s/u;
const IPV6_BODY = /^[0-9a-f:.]+$/i;
// WHATWG "ends in a number": such a last label makes the URL parser read the host as IPv4.
const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/;

/**
 * The canonical form of a Host header value, or null when it is not a valid host (`400 invalid_host`):
 * lower case, no port, one trailing dot dropped, IDN in punycode. Bracketed IPv6 stays in brackets.
 */
export function normalizeHost(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RAW_LENGTH) return null;
  if (raw.startsWith('[')) return normalizeIpv6(raw);

  let name = raw;
  const colon = raw.indexOf(':');
  if (colon !== -1) {
    // A second colon would be an unbracketed IPv6 address, which is not a Host header form.
    if (raw.indexOf(':', colon + 1) !== -1 || !isPort(raw.slice(colon + 1))) return null;
    name = raw.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || FORBIDDEN_HOST_CHAR.test(name)) return null;

  const lower = name.toLowerCase();
  const host = isPlainAscii(lower) ? lower : parseHostname(name);
  return host !== null && isDnsName(host) ? host : null;
}

/** The service a base domain without `=service` serves: the instance's own upstreams. */
export const DEFAULT_SERVICE = 'default';

/** One entry of BASE_DOMAINS: a normalised domain and the service its tenant hosts reach. */
export type BaseDomain = { domain: string; service: string };

/**
 * The base domain a tenant host is made on when none is given (the operator proxy, explain): the first of
 * the `default` service (the instance's own upstreams), else the first of all; none when the list is empty.
 */
export function defaultBaseDomain(listed: readonly BaseDomain[]): BaseDomain | undefined {
  return listed.find((b) => b.service === DEFAULT_SERVICE) ?? listed[0];
}

/**
 * Whether a normalised host is the control host or a tenant's. For a tenant, `label` is what the name says
 * under the first (most specific) base domain it belongs to, and `service` that base domain's; the caller
 * still tries `host` as a custom domain first.
 */
export function matchHost(
  host: string,
  config: { controlHost: string; baseDomains: readonly BaseDomain[] },
): HostMatch {
  if (host === config.controlHost) return { kind: 'control' };
  return matchTenantHost(host, config.baseDomains);
}

/** What a host other than the control host says of its tenant (see `matchHost`); base domains longest first. */
export function matchTenantHost(host: string, baseDomains: readonly BaseDomain[]): TenantHostMatch {
  for (const { domain: base, service } of baseDomains) {
    if (host === base) return { kind: 'tenant', host, label: null, service };
    const end = host.length - base.length - 1;
    if (end > 0 && host.charCodeAt(end) === 46 && host.endsWith(base)) {
      return { kind: 'tenant', host, label: labelOf(host, end), service };
    }
  }
  return { kind: 'tenant', host, label: null, service: DEFAULT_SERVICE };
}

// `host.slice(0, end)` is `{label}` or `{label}.{instance}`; anything deeper names no tenant. Found with
// indexOf rather than split so only the returned strings are allocated.
function labelOf(host: string, end: number): { slug: string; instance: string | null } | null {
  const firstDot = host.indexOf('.');
  let slug: string;
  let instance: string | null = null;
  if (firstDot >= end) {
    slug = slugFromLabel(host.slice(0, end));
  } else {
    if (host.indexOf('.', firstDot + 1) < end || firstDot + 1 === end) return null;
    slug = slugFromLabel(host.slice(0, firstDot));
    instance = host.slice(firstDot + 1, end);
  }
  if (slug.length === 0 || slug.length > SLUG_MAX_LENGTH) return null;
  return { slug, instance };
}

// All-ASCII names with no `xn--` label and no numeric last label are only lower-cased by the URL parser
// (WHATWG "domain to ASCII" with beStrict false), so they may skip it.
function isPlainAscii(lower: string): boolean {
  if (!ASCII_HOST.test(lower) || lower.includes('xn--')) return false;
  return !NUMERIC_LABEL.test(lower.slice(lower.lastIndexOf('.') + 1));
}

// IDNA (UTS #46) and IPv4 forms such as `127.1` or `0x7f000001` are left to the URL parser, which both
// workerd and Node implement per WHATWG; the input has been checked to hold no character it would treat
// as a delimiter.
function parseHostname(name: string): string | null {
  try {
    return new URL(`http://${name}`).hostname;
  } catch {
    return null;
  }
}

// RFC 9110 allows an empty port after the colon; it means the default.
function isPort(text: string): boolean {
  return PORT.test(text) && Number(text) <= 65535;
}

function isDnsName(host: string): boolean {
  return host.length <= MAX_HOST_LENGTH && host.split('.').every(isDnsLabel);
}

function normalizeIpv6(raw: string): string | null {
  const close = raw.indexOf(']');
  if (close === -1) return null;
  const body = raw.slice(1, close);
  const rest = raw.slice(close + 1);
  if (!IPV6_BODY.test(body) || !body.includes(':')) return null;
  if (rest !== '' && !(rest.startsWith(':') && isPort(rest.slice(1)))) return null;
  // The parser compresses and lower-cases, so `[0:0::1]` and `[::1]` are one host.
  return parseHostname(`[${body}]`);
}
