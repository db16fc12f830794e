import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkCsrfToken,
  csrfToken,
  readSession,
  SESSION_TTL_MS,
  sessionIssuedAt,
  signSession,
} from '../../../src/core/crypto/session';

const secret = 'a-long-random-sealing-key-for-tests';
const session = { tenantId: 'ten_abc123', adminId: 'adm_xyz789', epoch: 3, expiresAt: 2_000_000 };

describe('session tokens', () => {
  it('round-trips before the expiry', async () => {
    const token = await signSession(session, secret);
    expect(token).toMatch(/^v2\.ten_abc123\.adm_xyz789\.3\.2000000\.[0-9a-f]{64}$/);
    expect(await readSession(token, secret, 1_999_999)).toEqual(session);
  });

  it('is an HMAC-SHA256 under a key derived with HKDF from the secret (info "…console session v1")', async () => {
    const key = Buffer.from(
      hkdfSync('sha256', secret, Buffer.alloc(0), 'tenant-gateway console session v1', 32),
    );
    const body = 'v2.ten_abc123.adm_xyz789.3.2000000';
    const expected = createHmac('sha256', key).update(body).digest('hex');
    expect(await signSession(session, secret)).toBe(`${body}.${expected}`);
  });

  it('knows when it was signed: its expiry less the session life', () => {
    expect(sessionIssuedAt(session)).toBe(2_000_000 - SESSION_TTL_MS);
  });

  it('is refused once expired', async () => {
    const token = await signSession(session, secret);
    expect(await readSession(token, secret, 2_000_000)).toBeNull();
  });

  it('is refused when altered, signed with another secret, or malformed', async () => {
    const token = await signSession(session, secret);
    expect(await readSession(token.replace('adm_xyz789', 'adm_xyz788'), secret, 0)).toBeNull();
    expect(await readSession(token.replace('.2000000.', '.9000000.'), secret, 0)).toBeNull();
    // A session of an older epoch cannot be moved on to the current one.
    expect(await readSession(token.replace('.3.', '.4.'), secret, 0)).toBeNull();
    expect(await readSession(token, 'another-secret', 0)).toBeNull();
    expect(await readSession(`${token}0`, secret, 0)).toBeNull();
    expect(await readSession('', secret, 0)).toBeNull();
    expect(await readSession(undefined, secret, 0)).toBeNull();
    expect(await readSession('v1.a.b.c.d', secret, 0)).toBeNull();
    // The format before epochs is no longer read.
    const v1 = await readSession(token.replace(/^v2\.(.*)\.3\./, 'v1.$1.'), secret, 0);
    expect(v1).toBeNull();
  });
});

describe('sessions across a sealing-key rotation (SEALING_KEY lists keys, newest first)', () => {
  it('signs with the newest key and reads with any, so a rotation signs no admin out', async () => {
    const before = await signSession(session, 'k-old');
    expect(await readSession(before, 'k-new,k-old', 0)).toEqual(session);
    const after = await signSession(session, 'k-new,k-old');
    expect(after).toBe(await signSession(session, 'k-new'));
    expect(await readSession(after, 'k-old', 0)).toBeNull();
    // Once the old key is dropped, what it signed is refused.
    expect(await readSession(before, 'k-new', 0)).toBeNull();
  });

  it('CSRF tokens likewise: made with the newest, any listed key accepted', async () => {
    const old = await csrfToken('tok', 'k-old');
    expect(await checkCsrfToken('tok', old, 'k-new,k-old')).toBe(true);
    expect(await csrfToken('tok', 'k-new,k-old')).toBe(await csrfToken('tok', 'k-new'));
    expect(await checkCsrfToken('tok', old, 'k-new')).toBe(false);
  });
});

describe('CSRF tokens', () => {
  it('are accepted for the session they were made for only', async () => {
    const token = await signSession(session, secret);
    const other = await signSession({ ...session, adminId: 'adm_other' }, secret);
    const csrf = await csrfToken(token, secret);
    expect(csrf).toMatch(/^[0-9a-f]{64}$/);
    expect(await checkCsrfToken(token, csrf, secret)).toBe(true);
    expect(await checkCsrfToken(other, csrf, secret)).toBe(false);
    expect(await checkCsrfToken(token, csrf.slice(0, 63), secret)).toBe(false);
    expect(await checkCsrfToken(token, undefined, secret)).toBe(false);
  });

  it('differ from the session signature itself', async () => {
    const token = await signSession(session, secret);
    expect(token.endsWith(await csrfToken(token, secret))).toBe(false);
  });
});
