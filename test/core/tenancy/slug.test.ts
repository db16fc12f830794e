import { describe, expect, test } from 'vitest';
import {
  checkSlug,
  isDnsLabel,
  RESERVED_SLUGS,
  schemaNameFor,
  slugFromLabel,
  slugify,
} from '../../../src/core/tenancy/slug';

describe('slugFromLabel', () => {
  test.each([
    ['acme', 'acme'],
    ['company-x', 'companyx'],
    ['Company-X', 'companyx'],
    ['a-b-c-1-2', 'abc12'],
    ['xn--bcher-kva', 'xnbcherkva'],
    ['---', ''],
    ['', ''],
  ])('%j → %j', (label, slug) => {
    expect(slugFromLabel(label)).toBe(slug);
  });
});

describe('slugify', () => {
  test.each([
    ['Acme', 'acme'],
    ['Company-X', 'companyx'],
    ['Company X, Inc.', 'companyxinc'],
    ['Café', 'cafe'],
    ['Crème Brûlée Ltd', 'cremebruleeltd'],
    ['Ñandú', 'nandu'],
    ['Straße 42', 'strasse42'],
    ['Ærø Øl', 'aerool'],
    ['Łódź', 'lodz'],
    ['ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
    ['İstanbul', 'istanbul'],
    ['日本', ''],
    ['!!!', ''],
    ['', ''],
  ])('%j → %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  test('does not truncate', () => {
    expect(slugify('a'.repeat(100))).toHaveLength(100);
  });

  test('a name and a host label for it reduce to the same slug', () => {
    expect(slugify('Company-X')).toBe(slugFromLabel('company-x'));
  });
});

describe('checkSlug', () => {
  test.each(['acme', 'a', '0', 'companyx', 'a1b2', 'a'.repeat(62)])('%j is allowed', (slug) => {
    expect(checkSlug(slug)).toBeNull();
  });

  test('empty', () => {
    expect(checkSlug('')).toEqual({
      code: 'validation_failed',
      message: 'slug must have at least one letter or digit',
    });
  });

  test('63 characters is too long', () => {
    expect(checkSlug('a'.repeat(63))).toMatchObject({ code: 'validation_failed' });
  });

  test.each(['Acme', 'company-x', 'a_b', 'a b', 'café', 'a.b'])(
    '%j has characters outside [a-z0-9]',
    (slug) => {
      expect(checkSlug(slug)).toMatchObject({ code: 'validation_failed' });
    },
  );

  test.each([
    'control',
    'www',
    'api',
    'admin',
    'public',
    'gateway',
    'console',
    'app',
    'mail',
    'static',
    'assets',
    'cdn',
    'docs',
    'status',
    'support',
    'help',
    'root',
    'system',
    'internal',
    'localhost',
    'default',
    'dashboard',
  ])('%j is reserved', (slug) => {
    expect(RESERVED_SLUGS.has(slug)).toBe(true);
    expect(checkSlug(slug)).toEqual({ code: 'slug_reserved', message: expect.stringContaining(slug) });
  });

  test('each label of a base domain is reserved too, naming its base domain', () => {
    const labels = new Map([
      ['mygw', 'my-gw.example.com'],
      ['example', 'my-gw.example.com'],
    ]);
    expect(checkSlug('mygw', labels)).toEqual({
      code: 'slug_reserved',
      message: 'slug "mygw" is reserved: it is a label of base domain my-gw.example.com',
    });
    expect(checkSlug('example', labels)?.code).toBe('slug_reserved');
    expect(checkSlug('acme', labels)).toBeNull();
  });

  test('every reserved slug is itself a well-formed slug', () => {
    for (const slug of RESERVED_SLUGS) expect(slug).toMatch(/^[a-z0-9]{1,62}$/);
  });
});

describe('schemaNameFor', () => {
  test('prefixes t_', () => {
    expect(schemaNameFor('acme')).toBe('t_acme');
  });

  test('stays within 64 characters for the longest slug', () => {
    expect(schemaNameFor('a'.repeat(62))).toHaveLength(64);
  });
});

describe('isDnsLabel', () => {
  test.each(['instance1', 'a', '0', 'eu-west-1', 'a'.repeat(63), 'x1-y2'])('%j is a label', (name) => {
    expect(isDnsLabel(name)).toBe(true);
  });

  test.each(['', '-a', 'a-', 'a.b', 'A', 'a_b', 'a b', 'a'.repeat(64), 'é'])('%j is not', (name) => {
    expect(isDnsLabel(name)).toBe(false);
  });
});
