import { failsKeyChecksum } from '../core/crypto/key-secret';
import { sha256Hex } from '../core/crypto/secrets';
import { type Credential, readCredential } from '../core/http/credential';
import { hasScope, isPublicPath, requiredScope } from '../core/tenancy/scopes';
import { ApiError } from '../errors';
import type { KeyEntry, TenantSnapshot } from './snapshot';

export type Authenticated = { key: KeyEntry | null; credential: Credential | null };

const ANONYMOUS: Authenticated = { key: null, credential: null };

/**
 * Key and scope for a proxied request. Mode `none` reads no key (the backend's own `Authorization` passes
 * through). A public path or mode `optional` lets a request without a key through anonymously, but a key
 * that is presented must be valid: a client that believes it is authenticated learns that it is not.
 */
export async function authenticateRequest(
  snapshot: TenantSnapshot,
  method: string,
  path: string,
  headers: Headers,
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
  const key =
    snapshot.keysBySecret.get(credential.secret) ?? (await matchSecret(snapshot, credential.secret));
  if (!key || (key.expiresAt !== null && key.expiresAt <= now)) {
    throw new ApiError('invalid_api_key', 'The API key is not valid for this tenant');
  }
  if (!keyOptional) {
    const needed = requiredScope(method, path, snapshot.routes);
    if (!hasScope(key.scopes, needed)) {
      throw new ApiError('insufficient_scope', `This request needs the scope ${needed}`);
    }
  }
  return { key, credential };
}

async function matchSecret(snapshot: TenantSnapshot, secret: string): Promise<KeyEntry | undefined> {
  // A typo in a checksummed secret is refused without hashing it.
  if (failsKeyChecksum(secret)) return undefined;
  const key = snapshot.keys.get(await sha256Hex(secret));
  if (key) snapshot.keysBySecret.set(secret, key);
  return key;
}
