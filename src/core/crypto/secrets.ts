// Secrets: API key generation, hashing and constant-time comparison, and admin password hashing.

const encoder = new TextEncoder();
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// 248 = 4 × 62: bytes from 248 up are rejected, otherwise the first 8 characters would come up more often.
const BASE62_LIMIT = 248;
const MAX_SECRET_LENGTH = 1024;
const randomPool = new Uint8Array(64);
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `prefix` followed by `length` uniformly random base62 characters. */
export function generateSecret(prefix = 'gw_', length = 40): string {
  if (!Number.isInteger(length) || length < 1 || length > MAX_SECRET_LENGTH) {
    throw new RangeError(`secret length must be an integer from 1 to ${MAX_SECRET_LENGTH}`);
  }
  let secret = prefix;
  let remaining = length;
  while (remaining > 0) {
    crypto.getRandomValues(randomPool);
    for (let i = 0; i < randomPool.length && remaining > 0; i++) {
      const byte = randomPool[i];
      if (byte >= BASE62_LIMIT) continue;
      secret += BASE62[byte % 62];
      remaining--;
    }
  }
  return secret;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]];
  return hex;
}

export async function sha256Hex(value: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))));
}

/**
 * Equality whose time depends only on the length of `a`, never on where the strings differ.
 * Unequal lengths compare `a` with itself so the loop still runs its full course.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const sameLength = a.length === b.length;
  const other = sameLength ? b : a;
  let diff = sameLength ? 0 : 1;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ other.charCodeAt(i);
  return diff === 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The part of a secret kept in clear for display. */
export function keyPrefix(secret: string): string {
  return secret.slice(0, 10);
}

const PASSWORD_SCHEME = 'pbkdf2_sha256';
// workerd refuses PBKDF2 above 100,000 iterations, so a hash made elsewhere with more could never verify.
export const MAX_PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const ITERATIONS = /^[1-9][0-9]{0,5}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64.test(text) || text.length % 4 !== 0) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function pbkdf2(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  bytes: number,
): Promise<Uint8Array> {
  // NFKC (NIST SP 800-63B §5.1.1.2): the same password typed on another keyboard or OS must still match.
  const material = await crypto.subtle.importKey(
    'raw',
    encoder.encode(password.normalize('NFKC')),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

/** `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`, PBKDF2-SHA256 with a 16-byte random salt. */
export async function hashPassword(password: string, opts?: { iterations?: number }): Promise<string> {
  const iterations = opts?.iterations ?? MAX_PBKDF2_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new RangeError(`PBKDF2 iterations must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await pbkdf2(password, salt, iterations, HASH_BYTES);
  return `${PASSWORD_SCHEME}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** False, never an exception, for a wrong password or a stored value that is not a hash we can check. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 4 || parts[0] !== PASSWORD_SCHEME || !ITERATIONS.test(parts[1])) return false;
  const iterations = Number(parts[1]);
  if (iterations > MAX_PBKDF2_ITERATIONS) return false;
  const salt = fromBase64(parts[2]);
  const expected = fromBase64(parts[3]);
  if (!salt || salt.length === 0 || !expected || expected.length !== HASH_BYTES) return false;
  return bytesEqual(await pbkdf2(password, salt, iterations, HASH_BYTES), expected);
}
