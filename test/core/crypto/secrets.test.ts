// The tsconfig carries Workers types only; vitest runs this file in Node, where node:crypto exists.
import { createHash, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateSecret,
  hashPassword,
  keyPrefix,
  MAX_PBKDF2_ITERATIONS,
  sha256Hex,
  timingSafeEqual,
  toHex,
  verifyPassword,
} from '../../../src/core/crypto/secrets';

const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('generateSecret', () => {
  it('is gw_ and 40 base62 characters by default', () => {
    expect(generateSecret()).toMatch(/^gw_[0-9A-Za-z]{40}$/);
  });

  it('honours prefix and length', () => {
    expect(generateSecret('it_', 32)).toMatch(/^it_[0-9A-Za-z]{32}$/);
    expect(generateSecret('', 1)).toMatch(/^[0-9A-Za-z]$/);
    expect(generateSecret('x', 500)).toHaveLength(501);
  });

  it('refuses nonsense lengths', () => {
    for (const length of [0, -1, 1.5, Number.NaN, 5000]) {
      expect(() => generateSecret('gw_', length), String(length)).toThrow(RangeError);
    }
  });

  it('does not repeat', () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => generateSecret()));
    expect(secrets.size).toBe(1000);
  });

  it('uses every character about equally (no modulo bias)', () => {
    const counts = new Map<string, number>();
    const samples = 2000;
    for (let i = 0; i < samples; i++) {
      for (const ch of generateSecret('', 62)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // Each character is expected `samples` times. With `byte % 62` and no rejection, the first eight
    // would come up ~25% more often (5 of 256 bytes instead of 4); allow ±10%, many standard deviations.
    for (const ch of BASE62) {
      const n = counts.get(ch) ?? 0;
      expect(n, ch).toBeGreaterThan(samples * 0.9);
      expect(n, ch).toBeLessThan(samples * 1.1);
    }
  });
});

describe('sha256Hex', () => {
  it('matches known answers', async () => {
    expect(await sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes UTF-8 like node:crypto', async () => {
    const value = 'gw_ünïcode 🔑';
    expect(await sha256Hex(value)).toBe(createHash('sha256').update(value, 'utf8').digest('hex'));
  });
});

describe('toHex', () => {
  it('is lower-case and zero-padded', () => {
    expect(toHex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe('00010f10abff');
    expect(toHex(new Uint8Array())).toBe('');
  });
});

describe('timingSafeEqual', () => {
  it('compares equal-length strings', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'xbc')).toBe(false);
    expect(timingSafeEqual('ü', 'u')).toBe(false);
  });

  it('returns false for different lengths', () => {
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('abcd', 'abc')).toBe(false);
    expect(timingSafeEqual('', 'a')).toBe(false);
    expect(timingSafeEqual('a', '')).toBe(false);
  });
});

describe('keyPrefix', () => {
  it('is the first 10 characters', () => {
    expect(keyPrefix('gw_AbCdEfGhIjKl')).toBe('gw_AbCdEfG');
    expect(keyPrefix('short')).toBe('short');
  });
});

describe('hashPassword / verifyPassword', () => {
  it('stores pbkdf2_sha256$100000$salt$hash by default and verifies', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const [scheme, iterations, salt, hash] = stored.split('$');
    expect(scheme).toBe('pbkdf2_sha256');
    expect(Number(iterations)).toBe(100_000);
    expect(MAX_PBKDF2_ITERATIONS).toBe(100_000);
    expect(fromBase64(salt)).toHaveLength(16);
    expect(fromBase64(hash)).toHaveLength(32);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
  });

  it('derives what node:crypto derives', async () => {
    const stored = await hashPassword('pässword', { iterations: 1000 });
    const [, , salt, hash] = stored.split('$');
    const expected = pbkdf2Sync('pässword', fromBase64(salt), 1000, 32, 'sha256').toString('base64');
    expect(hash).toBe(expected);
  });

  it('verifies a hash made elsewhere', async () => {
    const salt = new TextEncoder().encode('0123456789abcdef');
    const hash = pbkdf2Sync('hunter2', salt, 5000, 32, 'sha256');
    const stored = `pbkdf2_sha256$5000$${toBase64(salt)}$${toBase64(hash)}`;
    expect(await verifyPassword('hunter2', stored)).toBe(true);
    expect(await verifyPassword('Hunter2', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same', { iterations: 1000 });
    const b = await hashPassword('same', { iterations: 1000 });
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', a)).toBe(true);
    expect(await verifyPassword('same', b)).toBe(true);
  });

  it('accepts the same password in another Unicode normal form', async () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    const stored = await hashPassword(composed, { iterations: 1000 });
    expect(await verifyPassword(decomposed, stored)).toBe(true);
  });

  it('refuses iteration counts the Workers runtime cannot run', async () => {
    await expect(hashPassword('x', { iterations: 100_001 })).rejects.toThrow(RangeError);
    await expect(hashPassword('x', { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(hashPassword('x', { iterations: 1.5 })).rejects.toThrow(RangeError);
  });

  it('answers false for stored values it cannot check', async () => {
    const good = await hashPassword('pw', { iterations: 1000 });
    const [, , salt, hash] = good.split('$');
    const bad = [
      '',
      'pw',
      'pbkdf2_sha256$1000$',
      `pbkdf2_sha1$1000$${salt}$${hash}`,
      `pbkdf2_sha256$0$${salt}$${hash}`,
      `pbkdf2_sha256$01000$${salt}$${hash}`,
      `pbkdf2_sha256$100001$${salt}$${hash}`,
      `pbkdf2_sha256$abc$${salt}$${hash}`,
      `pbkdf2_sha256$1000$${salt}$${hash}$extra`,
      `pbkdf2_sha256$1000$$${hash}`,
      `pbkdf2_sha256$1000$not*base64$${hash}`,
      `pbkdf2_sha256$1000$${salt}$${hash.slice(0, 20)}`,
      `pbkdf2_sha256$1000$${salt}$`,
    ];
    for (const stored of bad) expect(await verifyPassword('pw', stored), stored).toBe(false);
    expect(await verifyPassword('pw', good)).toBe(true);
  });
});
