import { describe, expect, it } from 'vitest';
import {
  mayOmitCurrentPassword,
  RECOVERY_TOKEN_TTL_MS,
  recoveryPending,
} from '../../../src/core/tenancy/recovery';

describe('recovery links', () => {
  it('live 15 minutes', () => {
    expect(RECOVERY_TOKEN_TTL_MS).toBe(15 * 60 * 1000);
  });

  it('are pending once used, until a password is set after the use', () => {
    expect(recoveryPending({ lastRecoveryUsedAt: null, passwordChangedAt: null })).toBe(false);
    expect(recoveryPending({ lastRecoveryUsedAt: null, passwordChangedAt: 5 })).toBe(false);
    expect(recoveryPending({ lastRecoveryUsedAt: 10, passwordChangedAt: null })).toBe(true);
    expect(recoveryPending({ lastRecoveryUsedAt: 10, passwordChangedAt: 5 })).toBe(true);
    expect(recoveryPending({ lastRecoveryUsedAt: 10, passwordChangedAt: 10 })).toBe(false);
    expect(recoveryPending({ lastRecoveryUsedAt: 10, passwordChangedAt: 11 })).toBe(false);
  });

  it('let only a session signed in at or after the use set a password without the current one', () => {
    const pending = { lastRecoveryUsedAt: 1_000, passwordChangedAt: null };
    expect(mayOmitCurrentPassword(pending, 1_000)).toBe(true);
    expect(mayOmitCurrentPassword(pending, 2_000)).toBe(true);
    // A session from before the link was used (a copied cookie) must know the current password.
    expect(mayOmitCurrentPassword(pending, 999)).toBe(false);
    // Once a new password is set, nobody skips the current one.
    expect(mayOmitCurrentPassword({ lastRecoveryUsedAt: 1_000, passwordChangedAt: 1_500 }, 2_000)).toBe(
      false,
    );
    expect(mayOmitCurrentPassword({ lastRecoveryUsedAt: null, passwordChangedAt: null }, 2_000)).toBe(false);
  });
});
