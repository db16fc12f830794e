// Custom domain input rules, shared by the control API, config apply and the tenant console.
import { baseDomainsOf } from '../core/http/base-domains';
import { normalizeHost } from '../core/http/host';
import type { Bindings } from '../env';
import type { ErrorDetail } from '../errors';

const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/;

/**
 * A custom domain in canonical form (normalised like a Host), or why it cannot be one: it must be a DNS
 * name of two labels or more, not an IP address, and never the control host or a base domain or a name
 * under either (those already route by label).
 */
export function checkCustomDomain(
  raw: string,
  env: Pick<Bindings, 'BASE_DOMAINS' | 'CONTROL_HOST'>,
): { ok: true; hostname: string } | { ok: false; message: string } {
  // A Host header may carry a port; a stored hostname may not: refused rather than trimmed, so what is
  // stored is what was asked for (a path or a user part fails normalisation anyway).
  if (/[:/@\\?#]/.test(raw.trim()) && !raw.trim().startsWith('[')) {
    return { ok: false, message: 'a hostname alone: no port, path or user part' };
  }
  const host = normalizeHost(raw.trim());
  if (host === null || host.startsWith('[')) return { ok: false, message: 'not a valid DNS host name' };
  const labels = host.split('.');
  if (labels.length < 2 || NUMERIC_LABEL.test(labels[labels.length - 1])) {
    return { ok: false, message: 'must be a DNS name such as api.example.com, not an address' };
  }
  const reserved = baseDomainsOf(env.BASE_DOMAINS).byLength.map((b) => b.domain);
  const control = normalizeHost(env.CONTROL_HOST);
  if (control) reserved.push(control);
  for (const base of reserved) {
    if (host === base || host.endsWith(`.${base}`)) {
      return { ok: false, message: `must not be ${base} or a name under it` };
    }
  }
  return { ok: true, hostname: host };
}

/** Canonical hostnames, de-duplicated, or the details of each bad one under `path`. */
export function checkCustomDomains(
  raws: string[],
  path: string,
  env: Pick<Bindings, 'BASE_DOMAINS' | 'CONTROL_HOST'>,
): { hostnames: string[]; details: ErrorDetail[] } {
  const hostnames = new Set<string>();
  const details: ErrorDetail[] = [];
  raws.forEach((raw, i) => {
    const check = checkCustomDomain(raw, env);
    if (check.ok) hostnames.add(check.hostname);
    else details.push({ path: `${path}.${i}`, message: check.message });
  });
  return { hostnames: [...hostnames], details };
}
