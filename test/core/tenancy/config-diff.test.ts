import { describe, expect, it } from 'vitest';
import { canonicalJson, changedFields, repeatedNames } from '../../../src/core/tenancy/config-diff';

describe('canonicalJson', () => {
  it('ignores key order at every depth, but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 }),
    );
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });

  it('tells null from a missing key and from an empty object', () => {
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
    expect(canonicalJson({ a: {} })).not.toBe(canonicalJson({ a: null }));
  });
});

describe('changedFields', () => {
  const current = {
    name: 'Acme',
    instance: 'one',
    settings: { plan: 'pro', seats: 3 },
    rate_limit: { requests_per_minute: 100, requests_per_day: null },
    status: 'active',
  };

  it('is empty when every declared field is equal, key order aside', () => {
    expect(
      changedFields(current, {
        name: 'Acme',
        settings: { seats: 3, plan: 'pro' },
        rate_limit: { requests_per_day: null, requests_per_minute: 100 },
      }),
    ).toEqual([]);
  });

  it('names each field that differs, deep changes included, in the order declared', () => {
    expect(
      changedFields(current, {
        settings: { plan: 'pro', seats: 4 },
        name: 'Acme',
        instance: 'two',
        rate_limit: null,
      }),
    ).toEqual(['settings', 'instance', 'rate_limit']);
  });

  it('leaves undeclared (undefined) fields alone, but a declared null is a change', () => {
    expect(changedFields(current, { status: undefined })).toEqual([]);
    expect(changedFields(current, { status: null })).toEqual(['status']);
    expect(changedFields({}, { domains: [] })).toEqual(['domains']);
  });
});

describe('repeatedNames', () => {
  it('reports every repeat after the first use, with its index', () => {
    expect(repeatedNames(['a', 'b', 'a', 'c', 'a', 'b'])).toEqual([
      { index: 2, name: 'a' },
      { index: 4, name: 'a' },
      { index: 5, name: 'b' },
    ]);
    expect(repeatedNames(['a', 'b'])).toEqual([]);
  });
});
