// A tenant's injected headers (DESIGN.md "Tenants", `inject_headers`): per-tenant credentials its backend
// needs, such as an SMTP password, added to every request forwarded for it. Which names may be injected, what
// a value may hold, and how a change of some names applies to those stored.
import { HOP_BY_HOP, isSpoofable } from './headers';

export const MAX_INJECTED_HEADERS = 20;
export const MAX_INJECTED_VALUE_BYTES = 4096;
const MAX_NAME_LENGTH = 128;

// An RFC 9110 field name (a token).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII and inner spaces: what every runtime sends unchanged. No tabs, no obs-text, and no leading or
// trailing space (Headers would trim it, so the backend would get another value than the one stored).
const FIELD_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

// Beyond what the gateway already asserts or strips (hop-by-hop, X-Tenant-*, X-Gateway-*, X-Forwarded-*,
// X-Request-Id, Host and the other identity facts): the client's own credentials and the body's framing.
const RESERVED = new Set(['authorization', 'cookie', 'content-length']);

/** Why `name` cannot be injected, or null when it can. Messages name the rule, never a value. */
export function injectedNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !TOKEN.test(name)) {
    return `a header name is 1 to ${MAX_NAME_LENGTH} characters of an HTTP token (letters, digits, - and !#$%&'*+.^_\`|~)`;
  }
  const lower = name.toLowerCase();
  if (HOP_BY_HOP.has(lower) || RESERVED.has(lower) || isSpoofable(lower)) {
    return `${name} is reserved: hop-by-hop headers, Host, Authorization, Cookie, Content-Length and the gateway's own (X-Tenant-*, X-Gateway-*, X-Forwarded-*, X-Request-Id and other identity headers) cannot be injected`;
  }
  return null;
}

/** Why `value` cannot be sent as a header value, or null when it can. The message never repeats it. */
export function injectedValueProblem(value: string): string | null {
  if (value.length > MAX_INJECTED_VALUE_BYTES) {
    return `a header value is at most ${MAX_INJECTED_VALUE_BYTES} bytes`;
  }
  if (!FIELD_VALUE.test(value)) {
    return 'a header value is printable ASCII, spaces only between other characters, and not empty';
  }
  return null;
}

/** What a request says of one injected header: a new value, null to remove it, `{set: true}` to keep it. */
export type HeaderEdit = string | null | { set: true };

export type HeaderPlan<T> = {
  /** By the name as the request spells it: a stored entry kept as it is, or a new value to store. */
  next: Record<string, { kept: T } | { value: string }>;
  /** Names asked to be kept (`{set: true}`) that have nothing stored. */
  missing: string[];
};

/**
 * The headers after `edits` (names compared without case, as HTTP does): with `replace` (PUT, config
 * apply) only the names the edits keep or set are left; without (PATCH) the names they leave out stay too.
 */
export function planHeaderEdits<T>(
  stored: Readonly<Record<string, T>>,
  edits: Readonly<Record<string, HeaderEdit>>,
  replace: boolean,
): HeaderPlan<T> {
  const byLower = new Map(
    Object.entries(stored).map(([name, entry]) => [name.toLowerCase(), { name, entry }]),
  );
  const next: HeaderPlan<T>['next'] = {};
  const missing: string[] = [];
  const named = new Set<string>();
  for (const [name, edit] of Object.entries(edits)) {
    named.add(name.toLowerCase());
    if (edit === null) continue;
    if (typeof edit === 'string') {
      next[name] = { value: edit };
      continue;
    }
    const current = byLower.get(name.toLowerCase());
    if (current) next[name] = { kept: current.entry };
    else missing.push(name);
  }
  if (!replace) {
    for (const [lower, { name, entry }] of byLower) {
      if (!named.has(lower)) next[name] = { kept: entry };
    }
  }
  return { next, missing };
}

/**
 * Whether `edits`, replacing every header, would change `current` (by name, each value opened; null for one
 * no key opens): a name added, removed or spelt otherwise, or a new value unlike the stored one.
 */
export function headerEditsChange(
  current: Readonly<Record<string, string | null>>,
  edits: Readonly<Record<string, HeaderEdit>>,
): boolean {
  const names = Object.keys(edits).filter((name) => edits[name] !== null);
  if (names.length !== Object.keys(current).length || names.some((name) => !(name in current))) return true;
  return names.some((name) => typeof edits[name] === 'string' && edits[name] !== current[name]);
}

/** The first name of `names` that repeats an earlier one but for case, or null. */
export function repeatedHeaderName(names: readonly string[]): string | null {
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) return name;
    seen.add(lower);
  }
  return null;
}
