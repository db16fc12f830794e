import { eq } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { generateSecret, sha256Hex } from '../core/crypto/secrets';
import { now as clockNow } from '../core/time/clock';
import type { Queryable } from './queryable';
import { installTokens } from './schema';

const INSTALL_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A new single-use install token for a tenant; any earlier one stops working. Stored hashed. */
export async function issueInstallToken(db: Queryable, tenantId: string) {
  await db.delete(installTokens).where(eq(installTokens.tenantId, tenantId));
  const token = generateSecret('gwi_', 40);
  const expiresAt = new Date(clockNow() + INSTALL_TOKEN_TTL_MS);
  await db.insert(installTokens).values({
    id: newId('itk'),
    tenantId,
    tokenHash: await sha256Hex(token),
    expiresAt,
  });
  return { token, expiresAt };
}
