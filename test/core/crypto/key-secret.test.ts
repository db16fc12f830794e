import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  failsKeyChecksum,
  KEY_SECRET_LENGTH,
  keySecretChecksum,
  newKeySecret,
} from '../../../src/core/crypto/key-secret';

const SHAPE = /^gw_[0-9A-Za-z]{38}$/;

describe('API key secrets with a checksum', () => {
  it('computes the zlib CRC-32', () => {
    for (const s of ['', 'a', 'gateway', '0123456789ABCDEFGHIJKLMNOPQRSTUV']) {
      expect(crc32(s)).toBe(zlibCrc32(Buffer.from(s)));
    }
    // The check value every CRC-32 implementation is held to.
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('makes secrets of the documented shape whose checksum holds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const secret = newKeySecret();
      expect(secret).toMatch(SHAPE);
      expect(secret).toHaveLength(KEY_SECRET_LENGTH);
      expect(secret.slice(35)).toBe(keySecretChecksum(secret.slice(3, 35)));
      expect(failsKeyChecksum(secret)).toBe(false);
      seen.add(secret);
    }
    expect(seen.size).toBe(200);
  });

  it('catches every one-character typo and every swap of two different neighbours', () => {
    const secret = newKeySecret();
    for (let i = 3; i < secret.length; i++) {
      const other = secret[i] === 'a' ? 'b' : 'a';
      expect(failsKeyChecksum(secret.slice(0, i) + other + secret.slice(i + 1))).toBe(true);
      if (i + 1 < secret.length && secret[i] !== secret[i + 1]) {
        const swapped = secret.slice(0, i) + secret[i + 1] + secret[i] + secret.slice(i + 2);
        expect(failsKeyChecksum(swapped)).toBe(true);
      }
    }
  });

  it('leaves secrets of another shape to the lookup: keys from before the checksum keep working', () => {
    expect(failsKeyChecksum(`gw_${'A'.repeat(40)}`)).toBe(false);
    expect(failsKeyChecksum('not-a-gateway-key')).toBe(false);
    expect(failsKeyChecksum(`xx_${'A'.repeat(38)}`)).toBe(false);
  });
});
