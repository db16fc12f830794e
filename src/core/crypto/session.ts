// Console sessions: a signed, self-contained token (no session table), bound to one tenant, one admin and
// the admin's session epoch (a new password bumps it, which ends every session signed before) and valid
// until its expiry; and CSRF tokens derived from it, so a form is only accepted from a page that was
// rendered for that very session.

import { sealingKeys } from './seal';
import { timingSafeEqual, toHex } from './secrets';

export type Session = {
  tenantId: string;
  adminId: string;
  /** The admin account's session epoch when it was signed; the reader compares it with the current one. */
  epoch: number;
  /** Unix ms. */
  expiresAt: number;
};

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
// Ids are base62 with a type prefix (`ten_…`, `adm_…`): never a dot.
const TOKEN = /^v2\.([A-Za-z0-9_]{1,64})\.([A-Za-z0-9_]{1,64})\.(\d{1,9})\.(\d{1,15})\.([0-9a-f]{64})$/;

// Its own HKDF info, so the session key is unrelated to the sealing key derived from the same secret.
function sessionKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (secret.length === 0) throw new TypeError('the session secret is empty');
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
        'deriveKey',
      ]);
      return crypto.subtle.deriveKey(
        {
          name: 'HKDF',
          hash: 'SHA-256',
          salt: new Uint8Array(0),
          info: encoder.encode('tenant-gateway console session v1'),
        },
        material,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign'],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

async function mac(secret: string, message: string): Promise<string> {
  const signature = await crypto.subtle.sign('HMAC', await sessionKey(secret), encoder.encode(message));
  return toHex(new Uint8Array(signature));
}

/** When a session was signed: every session lives SESSION_TTL_MS from its signing. */
export function sessionIssuedAt(session: Session): number {
  return session.expiresAt - SESSION_TTL_MS;
}

/** `v2.{tenant id}.{admin id}.{epoch}.{expiry, unix ms}.{hex HMAC of what precedes}` */
export async function signSession(session: Session, secret: string): Promise<string> {
  const { tenantId, adminId, epoch, expiresAt } = session;
  const body = `v2.${tenantId}.${adminId}.${epoch}.${Math.floor(expiresAt)}`;
  // SEALING_KEY may list several keys, newest first (./seal): signed with the newest, read with any, so a
  // rotation does not sign every admin out.
  const [newest] = sealingKeys(secret);
  if (newest === undefined) throw new Error('no session key');
  return `${body}.${await mac(newest, body)}`;
}

/** The session a token carries, or null when it is malformed, forged, altered or expired. */
export async function readSession(
  token: string | undefined,
  secret: string,
  now: number,
): Promise<Session | null> {
  const match = token ? TOKEN.exec(token) : null;
  if (!match || !token) return null;
  const body = token.slice(0, token.lastIndexOf('.'));
  let valid = false;
  for (const key of sealingKeys(secret)) {
    if (timingSafeEqual(await mac(key, body), match[5])) valid = true;
  }
  if (!valid) return null;
  const expiresAt = Number(match[4]);
  if (expiresAt <= now) return null;
  return { tenantId: match[1], adminId: match[2], epoch: Number(match[3]), expiresAt };
}

/** The CSRF token of every form rendered for this session (under the newest key, as the session is). */
export function csrfToken(sessionToken: string, secret: string): Promise<string> {
  const [newest] = sealingKeys(secret);
  if (newest === undefined) throw new Error('no session key');
  return mac(newest, `csrf\n${sessionToken}`);
}

/** A form rendered before a key rotation still posts: any listed key's token is accepted. */
export async function checkCsrfToken(
  sessionToken: string,
  given: string | undefined,
  secret: string,
): Promise<boolean> {
  if (typeof given !== 'string') return false;
  let valid = false;
  for (const key of sealingKeys(secret)) {
    if (timingSafeEqual(await mac(key, `csrf\n${sessionToken}`), given)) valid = true;
  }
  return valid;
}
