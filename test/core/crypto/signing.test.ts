// The tsconfig carries Workers types only; vitest runs this file in Node, where node:crypto exists.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type SignatureParts,
  signatureBase,
  signForwardedRequest,
  signingKeyCacheSize,
  verifySignature,
} from '../../../src/core/crypto/signing';

const parts: SignatureParts = {
  timestamp: 1700000000,
  method: 'post',
  host: 'acme.instance1.gw.example.com',
  pathAndQuery: '/emails/send?x=1&y=%20z',
  tenantId: 'ten_01HXYZ',
  keyId: 'key_abc',
};
const secret = 'whsec_ünïcode-sëcret';

describe('signatureBase', () => {
  it('is exactly the documented string', () => {
    expect(signatureBase(parts)).toBe(
      'v1\n1700000000\nPOST\nacme.instance1.gw.example.com\n/emails/send?x=1&y=%20z\nten_01HXYZ\nkey_abc',
    );
  });

  it('uses - when no key was used', () => {
    expect(signatureBase({ ...parts, method: 'GET', pathAndQuery: '/', keyId: null })).toBe(
      'v1\n1700000000\nGET\nacme.instance1.gw.example.com\n/\nten_01HXYZ\n-',
    );
    expect(signatureBase({ ...parts, keyId: '' }).endsWith('\n-')).toBe(true);
  });

  it('refuses a timestamp that is not whole seconds', () => {
    expect(() => signatureBase({ ...parts, timestamp: 1700000000.5 })).toThrow(TypeError);
    expect(() => signatureBase({ ...parts, timestamp: Number.NaN })).toThrow(TypeError);
    expect(() => signatureBase({ ...parts, timestamp: -1 })).toThrow(TypeError);
  });

  it('refuses fields that would blur the line structure', () => {
    expect(() => signatureBase({ ...parts, host: 'a\nb' })).toThrow(TypeError);
    expect(() => signatureBase({ ...parts, pathAndQuery: '/a\n' })).toThrow(TypeError);
    expect(() => signatureBase({ ...parts, tenantId: 'ten\n' })).toThrow(TypeError);
    expect(() => signatureBase({ ...parts, keyId: 'k\n-' })).toThrow(TypeError);
  });
});

describe('signForwardedRequest', () => {
  it('matches an HMAC-SHA256 computed independently', async () => {
    const expected = createHmac('sha256', new TextEncoder().encode(secret))
      .update(
        'v1\n1700000000\nPOST\nacme.instance1.gw.example.com\n/emails/send?x=1&y=%20z\nten_01HXYZ\nkey_abc',
        'utf8',
      )
      .digest('hex');
    const signature = await signForwardedRequest(secret, parts);
    expect(signature).toBe(expected);
    // Computed once with Python's hmac module, so a change in either implementation shows up.
    expect(signature).toBe('fe5486f5a0a3dc2a868570a218ad76927d0ccdfffebaa94c6d8539803e3b80f4');
  });

  it('matches a second known answer without a key', async () => {
    const signature = await signForwardedRequest('secret', {
      timestamp: 1700000000,
      method: 'GET',
      host: 'acme.gw.example.com',
      pathAndQuery: '/',
      tenantId: 'ten_01HXYZ',
      keyId: null,
    });
    expect(signature).toBe('81b4b0e9e99c86e53670e35d839d6385a45186328c8cedf7484d07fea83acaf3');
  });

  it('is lower-case hex of 32 bytes', async () => {
    expect(await signForwardedRequest('s', parts)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with every part and with the secret', async () => {
    const base = await signForwardedRequest(secret, parts);
    const variants: SignatureParts[] = [
      { ...parts, timestamp: parts.timestamp + 1 },
      { ...parts, method: 'PUT' },
      { ...parts, host: 'other.gw.example.com' },
      { ...parts, pathAndQuery: '/emails/send?x=2&y=%20z' },
      { ...parts, tenantId: 'ten_other' },
      { ...parts, keyId: null },
    ];
    for (const variant of variants) expect(await signForwardedRequest(secret, variant)).not.toBe(base);
    expect(await signForwardedRequest(`${secret}x`, parts)).not.toBe(base);
  });

  it('rejects an empty secret', async () => {
    await expect(signForwardedRequest('', parts)).rejects.toThrow(TypeError);
  });

  it('keeps its key cache bounded', async () => {
    for (let i = 0; i < 300; i++) await signForwardedRequest(`secret-${i}`, parts);
    expect(signingKeyCacheSize()).toBeLessThanOrEqual(256);
    // An evicted secret is imported again and still signs correctly.
    const expected = createHmac('sha256', 'secret-0').update(signatureBase(parts)).digest('hex');
    expect(await signForwardedRequest('secret-0', parts)).toBe(expected);
  });

  it('gives concurrent first calls the same answer', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => signForwardedRequest('fresh', parts)));
    expect(new Set(results).size).toBe(1);
  });
});

describe('verifySignature', () => {
  it('accepts the right signature, in either hex case', async () => {
    const signature = await signForwardedRequest(secret, parts);
    expect(await verifySignature(secret, parts, signature)).toBe(true);
    expect(await verifySignature(secret, parts, signature.toUpperCase())).toBe(true);
  });

  it('rejects a wrong, truncated, extended or foreign signature', async () => {
    const signature = await signForwardedRequest(secret, parts);
    const flipped = (signature[0] === '0' ? '1' : '0') + signature.slice(1);
    expect(await verifySignature(secret, parts, flipped)).toBe(false);
    expect(await verifySignature(secret, parts, signature.slice(0, 63))).toBe(false);
    expect(await verifySignature(secret, parts, `${signature}0`)).toBe(false);
    expect(await verifySignature(secret, parts, '')).toBe(false);
    expect(await verifySignature('other', parts, signature)).toBe(false);
    expect(await verifySignature(secret, { ...parts, keyId: null }, signature)).toBe(false);
  });
});
