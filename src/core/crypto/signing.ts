// Request signing: the HMAC an instance checks to know a request (or a lifecycle hook) came through the
// gateway and was not altered on the way.

import { timingSafeEqual, toHex } from './secrets';

export type SignatureParts = {
  timestamp: number;
  method: string;
  host: string;
  pathAndQuery: string;
  tenantId: string;
  keyId: string | null;
};

const encoder = new TextEncoder();
const KEY_CACHE_LIMIT = 256;
// A promise while the key is imported (concurrent first requests share one importKey), then the key itself:
// a warm request signs without waiting for an already settled promise.
const keyCache = new Map<string, CryptoKey | Promise<CryptoKey>>();

function hmacKey(secret: string): CryptoKey | Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached) return cached;
  if (secret.length === 0) throw new TypeError('signing secret is empty');
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  const key = crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  keyCache.set(secret, key);
  key.then(
    (imported) => {
      if (keyCache.get(secret) === key) keyCache.set(secret, imported);
    },
    // A failed import must not stay cached and fail every later request.
    () => {
      if (keyCache.get(secret) === key) keyCache.delete(secret);
    },
  );
  return key;
}

/** How many imported signing keys are cached (bounded by 256). */
export function signingKeyCacheSize(): number {
  return keyCache.size;
}

function assertSingleLine(name: string, value: string): void {
  // A newline inside a field would let two different requests share one signature base.
  if (value.includes('\n')) throw new TypeError(`signature ${name} contains a newline`);
}

/** `v1\n{timestamp}\n{METHOD}\n{host}\n{path_and_query}\n{tenant_id}\n{key_id or -}` */
export function signatureBase(p: SignatureParts): string {
  if (!Number.isSafeInteger(p.timestamp) || p.timestamp < 0) {
    throw new TypeError('signature timestamp must be whole Unix seconds');
  }
  const keyId = p.keyId || '-';
  assertSingleLine('method', p.method);
  assertSingleLine('host', p.host);
  assertSingleLine('path', p.pathAndQuery);
  assertSingleLine('tenant id', p.tenantId);
  assertSingleLine('key id', keyId);
  return `v1\n${p.timestamp}\n${p.method.toUpperCase()}\n${p.host}\n${p.pathAndQuery}\n${p.tenantId}\n${keyId}`;
}

/** Lower-case hex HMAC-SHA256 of the signature base, keyed with the secret's UTF-8 bytes. */
export async function signForwardedRequest(secret: string, p: SignatureParts): Promise<string> {
  const base = signatureBase(p);
  const entry = hmacKey(secret);
  const key = entry instanceof Promise ? await entry : entry;
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(base));
  return toHex(new Uint8Array(mac));
}

/** Hex case is ignored; the comparison does not reveal how much of the signature was right. */
export async function verifySignature(
  secret: string,
  p: SignatureParts,
  signatureHex: string,
): Promise<boolean> {
  if (signatureHex.length !== 64) return false;
  const expected = await signForwardedRequest(secret, p);
  return timingSafeEqual(expected, signatureHex.toLowerCase());
}
