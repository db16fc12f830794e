import { describe, expect, test } from 'vitest';
import {
  chooseInstance,
  freeShare,
  type InstanceCapacity,
  refusedPlacement,
} from '../../../src/core/tenancy/placement';

const instance = (name: string, tenantCount: number, maxTenants: number | null, draining = false) =>
  ({ name, tenantCount, maxTenants, draining }) satisfies InstanceCapacity;

describe('capacity placement', () => {
  test('an instance takes one more tenant unless it is draining or full', () => {
    expect(refusedPlacement(instance('a', 4, 5))).toBeNull();
    expect(refusedPlacement(instance('a', 1_000, null))).toBeNull();
    expect(refusedPlacement(instance('a', 5, 5))).toBe('instance a is full: 5 of 5 tenants');
    // Lowered below its count: full, the tenants on it stay.
    expect(refusedPlacement(instance('a', 7, 5))).toBe('instance a is full: 7 of 5 tenants');
    expect(refusedPlacement(instance('a', 0, 0))).toBe('instance a is full: 0 of 0 tenants');
    expect(refusedPlacement(instance('a', 0, null, true))).toBe(
      'instance a is draining: it takes no new tenants',
    );
  });

  test('the free share: free / max; an unlimited instance is wholly free', () => {
    expect(freeShare(instance('a', 0, 10))).toBe(1);
    expect(freeShare(instance('a', 3, 4))).toBe(0.25);
    expect(freeShare(instance('a', 9, 4))).toBe(0);
    expect(freeShare(instance('a', 0, 0))).toBe(0);
    expect(freeShare(instance('a', 500, null))).toBe(1);
  });

  test('the largest free share wins, ties by name, never a draining or full one; none left → null', () => {
    // 1 of 4 free (0.25) loses to 6 of 10 (0.6), though it has fewer tenants.
    expect(chooseInstance([instance('small', 3, 4), instance('big', 4, 10)])).toBe('big');
    // 0.5 each: by name, whatever the listing order.
    expect(chooseInstance([instance('b', 1, 2), instance('a', 5, 10)])).toBe('a');
    expect(chooseInstance([instance('a', 5, 10), instance('b', 1, 2)])).toBe('a');
    // Unlimited counts as wholly free: before any partly used limited one; with an empty one, by name.
    expect(chooseInstance([instance('a', 1, 100), instance('z', 50, null)])).toBe('z');
    expect(chooseInstance([instance('z', 0, 100), instance('m', 50, null)])).toBe('m');
    expect(chooseInstance([instance('a', 0, 100), instance('m', 50, null)])).toBe('a');
    expect(chooseInstance([instance('a', 0, 10, true), instance('b', 5, 5), instance('c', 9, 10)])).toBe('c');
    expect(chooseInstance([instance('a', 0, 10, true), instance('b', 5, 5)])).toBeNull();
    expect(chooseInstance([])).toBeNull();
  });
});
