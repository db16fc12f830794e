// BASE_DOMAINS (DESIGN.md "Configuration", "Host resolution" Services): its entries, each a base domain and
// the service its tenant hosts reach, parsed once per value; the labels they reserve as slugs.
import { isDnsLabel, slugFromLabel } from '../tenancy/slug';
import { type BaseDomain, DEFAULT_SERVICE, normalizeHost } from './host';

export type BaseDomainConfig = {
  /** Longest first: the order a host is matched in, so nested base domains resolve to the longest. */
  byLength: readonly BaseDomain[];
  /** As configured: the order tenant URLs are listed in. */
  listed: readonly BaseDomain[];
  /** Each label of a base domain, as the slug it reads as, and the base domain it belongs to. */
  labels: ReadonlyMap<string, string>;
  /** Each entry that was refused, and why; the entries that remain are the others. */
  problems: readonly string[];
};

/**
 * BASE_DOMAINS: comma-separated `domain` or `domain=service` entries (DESIGN.md "Host resolution",
 * Services). Domains are normalised like a Host; a service must be a DNS label; an entry that is neither
 * is refused with a message saying why. A domain listed twice with one service counts once.
 */
export function parseBaseDomains(csv: string): BaseDomainConfig {
  const listed: BaseDomain[] = [];
  const problems: string[] = [];
  for (const raw of csv.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    const domain = normalizeHost((equals === -1 ? entry : entry.slice(0, equals)).trim());
    const service = equals === -1 ? DEFAULT_SERVICE : entry.slice(equals + 1).trim();
    if (domain === null || domain.startsWith('[')) {
      problems.push(`BASE_DOMAINS entry "${entry}": not a valid DNS name`);
    } else if (!isDnsLabel(service)) {
      problems.push(
        `BASE_DOMAINS entry "${entry}": service "${service}" is not a DNS label (a-z, 0-9 and inner -, at most 63)`,
      );
    } else {
      const same = listed.find((b) => b.domain === domain);
      if (same && same.service !== service) {
        problems.push(
          `BASE_DOMAINS entry "${entry}": ${domain} is listed for services ${same.service} and ${service}`,
        );
      } else if (!same) listed.push({ domain, service });
    }
  }
  const byLength = [...listed].sort(
    (a, b) => b.domain.length - a.domain.length || compare(a.domain, b.domain),
  );
  const labels = new Map<string, string>();
  for (const { domain } of listed) {
    for (const label of domain.split('.')) {
      const slug = slugFromLabel(label);
      if (slug !== '' && !labels.has(slug)) labels.set(slug, domain);
    }
  }
  return { byLength, listed, labels, problems };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// BASE_DOMAINS is fixed for an isolate's life: parsed once per distinct value, a few values at most (tests
// hand in their own); the last one is checked first, without a lookup, as every request asks for it.
const parsedConfigs = new Map<string, BaseDomainConfig>();
let last: { value: string; config: BaseDomainConfig } | undefined;

/**
 * The configured base domains, parsed once per value. A value with a refused entry throws: routing on part of
 * what an operator wrote would send some hosts elsewhere without a word, so the worker answers 500 and logs
 * why until BASE_DOMAINS is fixed (`npm run dev` and `npm start` refuse to start on it).
 */
export function baseDomainsOf(csv: string | undefined): BaseDomainConfig {
  const value = csv ?? '';
  let config = last?.value === value ? last.config : parsedConfigs.get(value);
  if (config === undefined) {
    config = parseBaseDomains(value);
    if (parsedConfigs.size >= 8) parsedConfigs.clear();
    parsedConfigs.set(value, config);
  }
  if (last?.config !== config) last = { value, config };
  if (config.problems.length > 0) throw new Error(config.problems.join('; '));
  return config;
}
