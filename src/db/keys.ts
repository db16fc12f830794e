import { newId } from '../core/crypto/ids';
import { newKeySecret } from '../core/crypto/key-secret';
import { keyPrefix, sha256Hex } from '../core/crypto/secrets';
import type { Queryable } from './queryable';
import { apiKeys, type RateLimit } from './schema';

export type NewApiKey = {
  tenantId: string | null;
  name: string;
  scopes: string[];
  expiresAt?: Date | null;
  rateLimit?: RateLimit | null;
};

/** Stores a new key (its SHA-256 only) and returns the row and the secret, which is never stored. */
export async function createApiKey(db: Queryable, input: NewApiKey) {
  const secret = newKeySecret();
  const [key] = await db
    .insert(apiKeys)
    .values({
      id: newId('key'),
      tenantId: input.tenantId,
      name: input.name,
      keyHash: await sha256Hex(secret),
      prefix: keyPrefix(secret),
      scopes: input.scopes,
      expiresAt: input.expiresAt ?? null,
      rateLimit: input.rateLimit ?? null,
    })
    .returning();
  return { key, secret };
}
