// API key secrets (DESIGN.md "API keys"): `gw_` + 32 random base62 characters + a 6-character base62 CRC32
// of those 32, as GitHub's tokens carry one. A typo fails the checksum without a lookup or a hash, and a
// secret scanner can tell a leaked key by its shape (`gw_[0-9A-Za-z]{38}`). Keys made before the checksum
// (`gw_` + 40 characters) have no checksum and keep working.
import { generateSecret } from './secrets';

const PREFIX = 'gw_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
/** The length of every secret made with a checksum. */
export const KEY_SECRET_LENGTH = PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// CRC-32 (IEEE 802.3, the zlib one), table-driven.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of an ASCII string's bytes (the random part is base62, so one byte per character). */
export function crc32(ascii: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < ascii.length; i++) crc = CRC_TABLE[(crc ^ ascii.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `value` in base62, left-padded with `0` to `width` (62^6 > 2^32, so a CRC-32 fits in 6). */
function base62(value: number, width: number): string {
  let out = '';
  for (let v = value; v > 0; v = Math.floor(v / 62)) out = BASE62[v % 62] + out;
  return out.padStart(width, '0');
}

/** The checksum of a secret's random part. */
export function keySecretChecksum(random: string): string {
  return base62(crc32(random), CHECKSUM_LENGTH);
}

/** A new API key secret, with its checksum. */
export function newKeySecret(): string {
  const random = generateSecret('', RANDOM_LENGTH);
  return `${PREFIX}${random}${keySecretChecksum(random)}`;
}

/**
 * Whether a presented secret has the checksummed shape (`gw_`, 41 characters) but its checksum is wrong: such
 * a secret cannot be any key's, so it is refused before any lookup. Anything of another shape (a key from
 * before the checksum, or one that is simply wrong) is left to the lookup.
 */
export function failsKeyChecksum(secret: string): boolean {
  if (secret.length !== KEY_SECRET_LENGTH || !secret.startsWith(PREFIX)) return false;
  const random = secret.slice(PREFIX.length, PREFIX.length + RANDOM_LENGTH);
  return keySecretChecksum(random) !== secret.slice(PREFIX.length + RANDOM_LENGTH);
}
