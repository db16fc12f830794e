// Recovery links (POST /v1/tenants/:tenant/recovery): how long one lives, and what the console makes of the
// last one used. The contract's own figure, not a wait of the gateway's: not in core/time/clock's table.

/** A recovery link signs in once, within this long of its making. */
export const RECOVERY_TOKEN_TTL_MS = 15 * 60_000;

/** When the admin's last recovery link was used (null: never), the password last set (null: at install). */
export type RecoveryState = { lastRecoveryUsedAt: number | null; passwordChangedAt: number | null };

/**
 * A recovery link was used and no password has been set since: the console says who made it and asks for a
 * new password.
 */
export function recoveryPending(state: RecoveryState): boolean {
  const { lastRecoveryUsedAt: used, passwordChangedAt: changed } = state;
  return used !== null && (changed === null || used > changed);
}

/**
 * Whether a session may set a new password without the current one: only while a recovery is pending, and
 * only a session signed in at or after the link was used. An older session (a copied cookie among them)
 * must know the current password; a later one signed in with it, or through the link.
 */
export function mayOmitCurrentPassword(state: RecoveryState, sessionIssuedAt: number): boolean {
  return recoveryPending(state) && sessionIssuedAt >= (state.lastRecoveryUsedAt ?? Number.POSITIVE_INFINITY);
}
