// A tenant admin's new password, from the console (a change, or after a recovery link): stored hashed, the
// admin's session epoch bumped in the same statement, so every session signed before (a copied cookie
// among them) stops counting on its next request. Audited without the hash; nothing for the data plane.
import { and, eq, sql } from 'drizzle-orm';
import { now as clockNow } from '../core/time/clock';
import { tenantAdmins } from '../db/schema';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { runWrite, type Writer } from './writer';

export function setAdminPassword(
  w: Writer,
  admin: { id: string; tenantId: string },
  input: { passwordHash: string; via: 'change' | 'recovery' },
) {
  return runWrite(w, async (tx) => {
    const changedAt = new Date(clockNow());
    const [row] = await tx
      .update(tenantAdmins)
      .set({
        passwordHash: input.passwordHash,
        sessionEpoch: sql`${tenantAdmins.sessionEpoch} + 1`,
        passwordChangedAt: changedAt,
      })
      .where(and(eq(tenantAdmins.id, admin.id), eq(tenantAdmins.tenantId, admin.tenantId)))
      .returning({ id: tenantAdmins.id, sessionEpoch: tenantAdmins.sessionEpoch });
    if (!row) throw new ApiError('not_found', 'No such admin');
    await writeAudit(tx, w.by(), {
      tenantId: admin.tenantId,
      resource: 'admin',
      resourceId: admin.id,
      action: 'password',
      after: { password_changed_at: changedAt.toISOString(), via: input.via, other_sessions: 'ended' },
    });
    return row;
  });
}
