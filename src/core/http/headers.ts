// Header rewriting for the data plane: what a client may pass to an upstream, what the gateway asserts
// on its behalf, and what an upstream may pass back.
import type { FieldSource } from './request-fields';

/** RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones still seen in the wild. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

// Identity and routing facts only the gateway may assert; a client's copies are dropped, never trusted.
const SPOOFABLE: ReadonlySet<string> = new Set([
  'host',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'client-ip',
  'x-request-id',
  'x-instance',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
  'cf-pseudo-ipv4',
  'cf-ray',
  'cf-ipcountry',
  'cf-visitor',
  'cf-worker',
  'cdn-loop',
  // Scopes are decided on the method and path the gateway saw; these make some frameworks act on another.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
]);
const SPOOFABLE_PREFIXES = ['x-tenant-', 'x-gateway-', 'x-forwarded-'] as const;

// A field name (RFC 9110 token), lower-case; anything else in `Connection` is junk that Headers would reject.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const NONE: readonly string[] = Object.freeze([]);

/** Field names listed in a `Connection` value, lower-cased, invalid ones skipped. */
export function connectionTokens(value: string | null): readonly string[] {
  if (!value) return NONE;
  const tokens: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (TOKEN.test(token)) tokens.push(token);
  }
  return tokens;
}

/** Removes hop-by-hop fields in place, including those named in `Connection`. */
export function stripHopByHop(headers: Headers, opts?: { keepUpgrade?: boolean }): void {
  const keepUpgrade = opts?.keepUpgrade === true && headers.has('upgrade');
  for (const name of connectionTokens(headers.get('connection'))) {
    if (!(keepUpgrade && name === 'upgrade')) headers.delete(name);
  }
  for (const name of HOP_BY_HOP) {
    if (!(keepUpgrade && name === 'upgrade')) headers.delete(name);
  }
  if (keepUpgrade) headers.set('connection', 'upgrade');
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A client's request id, kept only when it is 1–128 characters of `[A-Za-z0-9._-]`. */
export function sanitizeRequestId(value: string | null): string | null {
  return value !== null && REQUEST_ID.test(value) ? value : null;
}

// Crockford base32: no I, L, O, U, so ids survive being read aloud or retyped from a log.
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const idRandom = new Uint8Array(16);

/** 26 characters, ULID-shaped: 10 of millisecond time (so ids sort by time in logs), 16 random. */
export function newRequestId(): string {
  let id = '';
  let time = Date.now();
  for (let i = 0; i < 10; i++) {
    id = BASE32[time % 32] + id;
    time = Math.floor(time / 32);
  }
  crypto.getRandomValues(idRandom);
  // One byte per character, 5 bits used: 80 random bits, no bias since 256 is a multiple of 32.
  for (let i = 0; i < 16; i++) id += BASE32[idRandom[i] & 31];
  return id;
}

export type ForwardInfo = {
  clientIp: string | null;
  host: string;
  proto: 'http' | 'https';
  requestId: string;
  tenantId: string;
  tenantSlug: string;
  schemaName: string;
  instance: string;
  /** The instance's service the host reaches (`default`, `gui`, …); not in the signed string. */
  service: string;
  keyId: string | null;
  scopes: readonly string[];
  timestamp: number;
  signature: string;
  credentialHeader: 'authorization' | 'x-api-key' | null;
  /** The tenant's injected headers, opened once per snapshot: each replaces a client header of its name. */
  injected: readonly (readonly [string, string])[];
  keepUpgrade?: boolean;
};

/** Whether a lower-case field name is one only the gateway may assert (a client's copy is never trusted). */
export function isSpoofable(name: string): boolean {
  if (SPOOFABLE.has(name)) return true;
  for (const prefix of SPOOFABLE_PREFIXES) {
    if (name.startsWith(prefix)) return true;
  }
  return false;
}

// The lower-case names of a tenant's injected headers, made once per list (a snapshot holds one list).
const injectedNames = new WeakMap<ForwardInfo['injected'], ReadonlySet<string>>();

function namesOf(injected: ForwardInfo['injected']): ReadonlySet<string> {
  let names = injectedNames.get(injected);
  if (!names) {
    names = new Set(injected.map(([name]) => name.toLowerCase()));
    injectedNames.set(injected, names);
  }
  return names;
}

/** The headers sent upstream: the client's, minus what is hop-by-hop or spoofable, plus the gateway's. */
export function buildForwardHeaders(incoming: FieldSource, info: ForwardInfo): Headers {
  const keepUpgrade = info.keepUpgrade === true && incoming.get('upgrade') !== null;
  const named = connectionTokens(incoming.get('connection'));
  const { injected } = info;
  const replaced = injected.length > 0 ? namesOf(injected) : null;
  const out = new Headers();
  // One pass that copies only what survives, rather than copying everything and deleting. Nothing below
  // can name a field twice, so each is appended (set would look for an earlier one first).
  for (const [name, value] of incoming) {
    if (name === 'upgrade') {
      if (!keepUpgrade) continue;
    } else if (
      HOP_BY_HOP.has(name) ||
      named.includes(name) ||
      name === info.credentialHeader ||
      isSpoofable(name) ||
      // An injected header replaces the client's of its name.
      replaced?.has(name)
    ) {
      continue;
    }
    out.append(name, value);
  }
  if (keepUpgrade) out.append('connection', 'upgrade');
  // Their names are never the gateway's own (core/http/inject-headers), so what follows cannot repeat them.
  for (const [name, value] of injected) out.append(name, value);

  // The gateway is the edge: the client address alone, never a client-supplied chain.
  if (info.clientIp) out.append('x-forwarded-for', info.clientIp);
  out.append('x-forwarded-host', info.host);
  out.append('x-forwarded-proto', info.proto);
  out.append('x-request-id', info.requestId);
  out.append('x-tenant-id', info.tenantId);
  out.append('x-tenant-slug', info.tenantSlug);
  out.append('x-tenant-schema', info.schemaName);
  out.append('x-instance', info.instance);
  out.append('x-gateway-service', info.service);
  out.append('x-gateway-key-id', info.keyId ?? '-');
  out.append('x-gateway-scopes', info.scopes.join(' '));
  out.append('x-gateway-timestamp', String(info.timestamp));
  out.append('x-gateway-signature', info.signature);
  return out;
}

/** A copy of an upstream's response headers without hop-by-hop fields; every `Set-Cookie` kept apart. */
export function stripResponseHeaders(headers: Headers, opts?: { keepUpgrade?: boolean }): Headers {
  const keepUpgrade = opts?.keepUpgrade === true && headers.has('upgrade');
  const named = connectionTokens(headers.get('connection'));
  const out = new Headers();
  for (const [name, value] of headers) {
    // Copied below from getSetCookie(): a runtime that joins them with commas would corrupt cookie dates.
    if (name === 'set-cookie') continue;
    if (name === 'upgrade') {
      if (!keepUpgrade) continue;
    } else if (HOP_BY_HOP.has(name) || named.includes(name)) {
      continue;
    }
    out.append(name, value);
  }
  if (!named.includes('set-cookie')) {
    for (const cookie of headers.getSetCookie()) out.append('set-cookie', cookie);
  }
  if (keepUpgrade) out.set('connection', 'upgrade');
  return out;
}
