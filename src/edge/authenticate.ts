import { failsKeyChecksum } from '../core/crypto/key-secret';
import { sha256Hex } from '../core/crypto/secrets';
import { type Credential, readCredential } from '../core/http/credential';
import type { FieldLookup } from '../core/http/request-fields';
import { hasScope, isPublicPath, requiredScope } from '../core/tenancy/scopes';
import { ApiError } from '../errors';
import type { KeyEntry, TenantSnapshot } from './snapshot';

export type Authenticated = { key: KeyEntry | null; credential: Credential | null };

const ANONYMOUS: Authenticated = { key: null, credential: null };

/** What a request to `path` asks of a key, all of it (the explain endpoint shows every step). */
export type AuthRequirement = {
  mode: 'required' | 'optional' | 'none';
  publicPath: boolean;
  /** A request without a key passes anonymously (mode `optional`, or a public path). */
  keyOptional: boolean;
  /** The scope the path needs of a key (none is checked when the key is optional). */
  scope: string;
};

export function authRequirement(snapshot: TenantSnapshot, method: string, path: string): AuthRequirement {
  const { auth } = snapshot.record;
  const publicPath = auth.mode !== 'none' && isPublicPath(path, auth.public_paths);
  return {
    mode: auth.mode,
    publicPath,
    keyOptional: auth.mode === 'optional' || publicPath,
    scope: requiredScope(method, path, snapshot.routes),
  };
}

/** A found key that has not expired, or `401 invalid_api_key`. */
export function checkKey(key: KeyEntry | undefined, now: number): KeyEntry {
  if (!key || (key.expiresAt !== null && key.expiresAt <= now)) {
    throw new ApiError('invalid_api_key', 'The API key is not valid for this tenant');
  }
  return key;
}

/** `403 insufficient_scope` unless the key holds `scope`. */
export function checkScope(key: KeyEntry, scope: string): void {
  if (!hasScope(key.scopes, scope)) {
    throw new ApiError('insufficient_scope', `This request needs the scope ${scope}`);
  }
}

/**
 * Key and scope for a proxied request. Mode `none` reads no key (the backend's own `Authorization` passes
 * through). A public path or mode `optional` lets a request without a key through anonymously, but a key
 * that is presented must be valid: a client that believes it is authenticated learns that it is not. The
 * steps of authRequirement, taken lazily: the route's scope is looked up only when a key must have it.
 */
export async function authenticateRequest(
  snapshot: TenantSnapshot,
  method: string,
  path: string,
  headers: FieldLookup,
  now: number,
): Promise<Authenticated> {
  const { auth } = snapshot.record;
  if (auth.mode === 'none') return ANONYMOUS;
  const keyOptional = auth.mode === 'optional' || isPublicPath(path, auth.public_paths);
  const credential = readCredential(headers);
  if (!credential) {
    if (keyOptional) return ANONYMOUS;
    throw new ApiError('missing_api_key', 'An API key is required (Authorization: Bearer … or X-API-Key)');
  }
  // A map lookup (on the secret once matched, else on its SHA-256): its time does not depend on how much of
  // the secret is right.
  const found =
    snapshot.keysBySecret.get(credential.secret) ?? (await matchSecret(snapshot, credential.secret));
  const key = checkKey(found, now);
  if (!keyOptional) checkScope(key, requiredScope(method, path, snapshot.routes));
  return { key, credential };
}

async function matchSecret(snapshot: TenantSnapshot, secret: string): Promise<KeyEntry | undefined> {
  // A typo in a checksummed secret is refused without hashing it.
  if (failsKeyChecksum(secret)) return undefined;
  const key = snapshot.keys.get(await sha256Hex(secret));
  if (key) snapshot.keysBySecret.set(secret, key);
  return key;
}
