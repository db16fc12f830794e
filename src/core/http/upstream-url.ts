// Rules for an instance's upstream URLs and hooks_url (DESIGN.md "Instances"). The gateway fetches these on
// a tenant's behalf, so unless ALLOW_PRIVATE_UPSTREAMS is set they must not reach the gateway's own network:
// loopback, private ranges, link-local (cloud metadata) and internal names.

import { normalizeHost } from './host';

export type UpstreamUrlCheck = { ok: true; url: string } | { ok: false; message: string };

const MAX_URL_LENGTH = 2048;
const HTTP_SCHEME = /^https?:\/\//i;
// The URL parser silently drops tabs and newlines and reads `\` as `/`; refusing them keeps what the operator
// wrote and what the gateway fetches the same.
const UNSAFE_CHAR = /[\s\\\p{Cc}]/u;
const TRAILING_SLASHES = /\/+$/;
const IPV4_DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

function fail(message: string): UpstreamUrlCheck {
  return { ok: false, message };
}

/**
 * Validates an upstream base URL and returns its normalised form without a trailing slash, ready for the
 * client's path and query to be appended. Messages never repeat the URL, which may hold a secret.
 */
export function checkUpstreamUrl(raw: string, opts: { allowPrivate: boolean }): UpstreamUrlCheck {
  const text = raw.trim();
  if (text.length === 0) return fail('URL is required');
  if (text.length > MAX_URL_LENGTH) return fail(`URL must be at most ${MAX_URL_LENGTH} characters`);
  if (UNSAFE_CHAR.test(text))
    return fail('URL must not contain whitespace, control characters or backslashes');
  if (!HTTP_SCHEME.test(text)) return fail('URL must be absolute and start with http:// or https://');

  const authority = authorityOf(text);
  if (authority.includes('@')) return fail('URL must not contain a user name or password');
  if (authority.length === 0) return fail('URL must include a host');
  // Checked on the text: the parser forgets a bare trailing `?` or `#`.
  if (text.includes('#')) return fail('URL must not contain a fragment (#)');
  if (text.includes('?')) return fail('URL must not contain a query string; the client query is appended');

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('URL is not valid');
  }
  if (url.username !== '' || url.password !== '') return fail('URL must not contain a user name or password');
  if (normalizeHost(url.hostname) === null) return fail('URL host is not a valid host name');
  if (!opts.allowPrivate && isPrivateAddress(url.hostname)) {
    return fail('URL must not point to a loopback, private, link-local or internal address');
  }
  return { ok: true, url: `${url.protocol}//${url.host}${url.pathname.replace(TRAILING_SLASHES, '')}` };
}

/** An instance's hooks_url follows the upstream rules; it usually has a path, which they allow. */
export const checkHooksUrl = checkUpstreamUrl;

// What sits between `scheme://` and the path, query or fragment.
function authorityOf(text: string): string {
  const start = text.indexOf('//') + 2;
  let end = text.length;
  for (const delimiter of ['/', '?', '#']) {
    const at = text.indexOf(delimiter, start);
    if (at !== -1 && at < end) end = at;
  }
  return text.slice(start, end);
}

/**
 * Whether a hostname (as `URL.hostname` gives it, or any Host form normalizeHost accepts, or a bare IPv6
 * address) is loopback, private, link-local, CGNAT, multicast, reserved, a metadata service or an internal
 * name. Numeric IPv4 spellings (`2130706433`, `0x7f.1`) are canonicalised first.
 */
export function isPrivateAddress(hostname: string): boolean {
  const bracketed = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  const host = normalizeHost(bracketed) ?? hostname.toLowerCase();
  if (host.startsWith('[')) {
    const groups = parseIpv6(host.slice(1, -1));
    return groups !== null && isPrivateIpv6(groups);
  }
  const v4 = parseIpv4(host);
  if (v4 !== null) return isPrivateIpv4(v4);
  return isInternalName(host.endsWith('.') ? host.slice(0, -1) : host);
}

function isInternalName(name: string): boolean {
  return (
    name === 'localhost' ||
    name === 'metadata' ||
    name.endsWith('.localhost') ||
    // Also covers metadata.google.internal.
    name.endsWith('.internal') ||
    name.endsWith('.local')
  );
}

// [network, prefix length] in 32-bit form.
const PRIVATE_IPV4: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // "this network"; 0.0.0.0 reaches the local host on many systems
  [0x0a000000, 8], // 10/8 private
  [0x64400000, 10], // 100.64/10 carrier-grade NAT; also Alibaba's metadata service
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local, home of most cloud metadata services
  [0xac100000, 12], // 172.16/12 private
  [0xc0a80000, 16], // 192.168/16 private
  [0xe0000000, 4], // 224/4 multicast, never an HTTP server
  [0xf0000000, 4], // 240/4 reserved, including 255.255.255.255 broadcast
];

function isPrivateIpv4(address: number): boolean {
  return PRIVATE_IPV4.some(([network, bits]) => address >>> (32 - bits) === network >>> (32 - bits));
}

function parseIpv4(text: string): number | null {
  const match = IPV4_DOTTED.exec(text);
  if (match === null) return null;
  let address = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) return null;
    address = address * 256 + octet;
  }
  return address;
}

function isPrivateIpv6(g: readonly number[]): boolean {
  const embedded = embeddedIpv4(g);
  if (embedded !== null) return isPrivateIpv4(embedded);
  return (
    (g[0] & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (g[0] & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (g[0] & 0xffc0) === 0xfec0 || // fec0::/10 deprecated site-local, still routed internally by some
    (g[0] & 0xff00) === 0xff00 // ff00::/8 multicast
  );
}

// Forms that carry an IPv4 address, which the network may deliver to that address. `::` and `::1` are
// IPv4-compatible 0.0.0.0 and 0.0.0.1, both inside 0/8.
function embeddedIpv4(g: readonly number[]): number | null {
  const low = g[6] * 0x10000 + g[7];
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(6)) return low; // ::a.b.c.d, IPv4-compatible
  if (zeroUpTo(5) && g[5] === 0xffff) return low; // ::ffff:a.b.c.d, IPv4-mapped
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return low; // ::ffff:0:a.b.c.d, IPv4-translated
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return low; // NAT64
  if (g[0] === 0x2002) return g[1] * 0x10000 + g[2]; // 6to4
  return null;
}

// Eight 16-bit groups; accepts `::` compression and a dotted IPv4 tail.
function parseIpv6(text: string): number[] | null {
  let body = text.toLowerCase();
  const lastColon = body.lastIndexOf(':');
  const tail = parseIpv4(body.slice(lastColon + 1));
  if (tail !== null) {
    body = `${body.slice(0, lastColon + 1)}${(tail >>> 16).toString(16)}:${(tail & 0xffff).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || rest === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - rest.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...rest] : null;
}

function groupsOf(part: string): number[] | null {
  if (part === '') return [];
  const groups: number[] = [];
  for (const group of part.split(':')) {
    if (!HEX_GROUP.test(group)) return null;
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}
