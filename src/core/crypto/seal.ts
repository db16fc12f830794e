// Sealing (authenticated encryption) for secrets the gateway must read back, such as an instance's
// signing secret: unlike API keys they cannot be stored as a hash. SEALING_KEY may list several keys,
// comma-separated, newest first: values are sealed with the first and opened with whichever fits, so the key
// can be rotated without downtime (add the new one in front, re-seal, later drop the old one).
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keys = new Map<string, Promise<CryptoKey>>();

function sealingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
        'deriveKey',
      ]);
      return crypto.subtle.deriveKey(
        {
          name: 'HKDF',
          hash: 'SHA-256',
          salt: new Uint8Array(0),
          info: encoder.encode('tenant-gateway seal v1'),
        },
        material,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The keys a SEALING_KEY value lists, newest first (comma-separated; blanks dropped). */
export function sealingKeys(list: string): string[] {
  return list
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
}

/** `v1.{iv}.{ciphertext}`, base64url, AES-256-GCM under a key derived with HKDF from the newest of `keys`. */
export async function seal(plaintext: string, keys: string): Promise<string> {
  const [secret] = sealingKeys(keys);
  if (secret === undefined) throw new Error('no sealing key');
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await sealingKey(secret),
    encoder.encode(plaintext),
  );
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
}

/**
 * The plaintext, and whether the newest of `keys` sealed it (else re-sealing would change it). Throws when
 * none of `keys` sealed the value or it was altered.
 */
export async function openSealed(
  sealed: string,
  keys: string,
): Promise<{ plaintext: string; newest: boolean }> {
  const [version, iv, ciphertext] = sealed.split('.');
  if (version !== 'v1' || !iv || !ciphertext) throw new Error('not a sealed value');
  const list = sealingKeys(keys);
  for (let i = 0; i < list.length; i++) {
    // AES-GCM checks its tag: a wrong key fails here, never yields garbage.
    const plaintext = await crypto.subtle
      .decrypt(
        { name: 'AES-GCM', iv: fromBase64Url(iv) },
        await sealingKey(list[i]),
        fromBase64Url(ciphertext),
      )
      .catch(() => null);
    if (plaintext) return { plaintext: decoder.decode(plaintext), newest: i === 0 };
  }
  throw new Error('no sealing key opens this value');
}

/** Throws when the value was not sealed with any of `keys` or was altered. */
export async function unseal(sealed: string, keys: string): Promise<string> {
  return (await openSealed(sealed, keys)).plaintext;
}
