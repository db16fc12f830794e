import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../../src/core/http/error-codes';
import {
  checkInput,
  findDuplicateKey,
  findUnsafeInput,
  nestingDepth,
  parseJsonText,
} from '../../../src/core/http/input';

describe('findDuplicateKey', () => {
  test('finds a key twice in one object, at any depth, however it is escaped', () => {
    expect(findDuplicateKey('{"scopes":["read"],"scopes":["admin"]}')).toBe('scopes');
    expect(findDuplicateKey('{"a":{"b":1,"c":{"d":2,"d":3}}}')).toBe('d');
    expect(findDuplicateKey('{"\\u0061":1,"a":2}')).toBe('a');
    expect(findDuplicateKey('[{"a":1},{"a":2,"b":{"a":3}}]')).toBeNull();
    expect(findDuplicateKey('{"a":"x\\",\\"a\\":1","b":"{\\"a\\":1,\\"a\\":2}"}')).toBeNull();
  });

  test('agrees with a parse: a JSON text without duplicates never has one found', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(findDuplicateKey(JSON.stringify(value))).toBeNull();
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});

describe('findUnsafeInput', () => {
  test('names the string or key that holds a control or bidi-override character', () => {
    expect(findUnsafeInput({ name: 'Acme\u0000' })).toEqual({
      path: 'name',
      message: 'The text holds a control character (U+0000)',
    });
    expect(findUnsafeInput({ settings: { 'k\u202e': 1 } })?.path).toBe('settings.k\u202e');
    expect(findUnsafeInput({ list: ['ok', 'bad\u0085'] })?.path).toBe('list.1');
    expect(findUnsafeInput({ name: 'Ünïcødé – fine ✓', n: 1, t: true, z: null })).toBeNull();
  });

  test('refuses a nesting deeper than the bound, without recursing', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeInput(deep)?.message).toMatch(/Nested more than 24 levels deep/);
    expect(nestingDepth(deep)).toBe(100_000);
    expect(findUnsafeInput({ a: { b: { c: 'd' } } }, 3)).toBeNull();
    expect(findUnsafeInput({ a: { b: { c: { d: 1 } } } }, 3)?.path).toBe('a.b.c');
  });
});

describe('parseJsonText and checkInput', () => {
  const codeOf = (work: () => unknown) => {
    try {
      work();
      return null;
    } catch (err) {
      return err instanceof ApiError ? [err.status, err.code] : err;
    }
  };

  test('malformed JSON and duplicate keys are 400 bad_request, unsafe strings 422 validation_failed', () => {
    expect(codeOf(() => parseJsonText('{"a":'))).toEqual([400, 'bad_request']);
    expect(codeOf(() => parseJsonText('{"a":1,"a":2}'))).toEqual([400, 'bad_request']);
    expect(codeOf(() => checkInput({ name: 'a\u0007' }))).toEqual([422, 'validation_failed']);
    expect(codeOf(() => checkInput(parseJsonText('{"a":[1,{"b":"c"}]}')))).toBeNull();
  });
});
