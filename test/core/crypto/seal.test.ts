import { describe, expect, test } from 'vitest';
import { openSealed, seal, sealingKeys, unseal } from '../../../src/core/crypto/seal';

describe('seal', () => {
  test('round-trips and never shows the plaintext', async () => {
    const sealed = await seal('whsec_abc123', 'k1');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('whsec_abc123');
    expect(await unseal(sealed, 'k1')).toBe('whsec_abc123');
  });

  test('two seals of one value differ (random IV)', async () => {
    expect(await seal('x', 'k1')).not.toBe(await seal('x', 'k1'));
  });

  test('another key or an altered value is refused', async () => {
    const sealed = await seal('secret', 'k1');
    await expect(unseal(sealed, 'k2')).rejects.toThrow();
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
    await expect(unseal(tampered, 'k1')).rejects.toThrow();
    await expect(unseal('plain', 'k1')).rejects.toThrow('not a sealed value');
  });

  test('several keys, newest first: sealed with the first, opened with any, and says which', async () => {
    expect(sealingKeys(' k2, k1 ,,')).toEqual(['k2', 'k1']);
    const old = await seal('secret', 'k1');
    expect(await unseal(old, 'k2,k1')).toBe('secret');
    expect(await openSealed(old, 'k2,k1')).toEqual({ plaintext: 'secret', newest: false });
    const fresh = await seal('secret', 'k2,k1');
    await expect(unseal(fresh, 'k1')).rejects.toThrow();
    expect(await openSealed(fresh, 'k2')).toEqual({ plaintext: 'secret', newest: true });
    await expect(unseal(old, 'k3,k2')).rejects.toThrow('no sealing key opens this value');
    await expect(seal('secret', ' , ')).rejects.toThrow('no sealing key');
  });
});
