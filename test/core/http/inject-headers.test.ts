import { describe, expect, it } from 'vitest';
import {
  headerEditsChange,
  injectedNameProblem,
  injectedValueProblem,
  planHeaderEdits,
  repeatedHeaderName,
} from '../../../src/core/http/inject-headers';

describe('injectedNameProblem', () => {
  it('refuses hop-by-hop, Host, credentials, framing and every name the gateway asserts, in any case', () => {
    for (const name of [
      'Connection',
      'Keep-Alive',
      'TE',
      'Trailer',
      'Transfer-Encoding',
      'Upgrade',
      'Proxy-Authorization',
      'Proxy-Connection',
      'Host',
      'Authorization',
      'Cookie',
      'Content-Length',
      'X-Tenant-Id',
      'x-tenant-anything',
      'X-Gateway-Signature',
      'X-GATEWAY-OPERATOR',
      'X-Forwarded-For',
      'x-forwarded-anything',
      'X-Request-Id',
      'X-Instance',
      'Forwarded',
      'X-Real-IP',
      'CF-Connecting-IP',
      'X-HTTP-Method-Override',
    ]) {
      expect(injectedNameProblem(name), name).toMatch(/reserved/);
    }
  });

  it('refuses what is not an HTTP token, and takes an ordinary name', () => {
    for (const name of ['', 'X Smtp', 'X-Smtp:', 'Ünicode', 'a'.repeat(129), 'X-(x)', 'X/Y']) {
      expect(injectedNameProblem(name), name).toMatch(/token/);
    }
    for (const name of ['X-Smtp-Password', 'x-api-key', 'Api_Token', 'a'.repeat(128)]) {
      expect(injectedNameProblem(name), name).toBeNull();
    }
  });
});

describe('injectedValueProblem', () => {
  it('takes printable ASCII up to 4 KiB; refuses empty, longer, edge spaces, controls and non-ASCII', () => {
    expect(injectedValueProblem('s3cr3t value=with;punctuation!')).toBeNull();
    expect(injectedValueProblem('x'.repeat(4096))).toBeNull();
    expect(injectedValueProblem('x'.repeat(4097))).toMatch(/4096 bytes/);
    for (const value of ['', ' lead', 'trail ', 'tab\there', 'line\r\nbreak', 'nul\u0000', 'ünï', '€']) {
      expect(injectedValueProblem(value), JSON.stringify(value)).toMatch(/printable ASCII/);
    }
  });

  it('never repeats the value in its message', () => {
    const value = `${'secret-'.repeat(700)}`;
    expect(injectedValueProblem(value)).not.toContain('secret');
    expect(injectedValueProblem(' secret')).not.toContain('secret');
  });
});

describe('planHeaderEdits', () => {
  const stored = { 'X-Smtp-Password': 'A', 'X-Smtp-User': 'B' };

  it('PATCH: sets, removes by null (any case) and keeps the names it leaves out', () => {
    const plan = planHeaderEdits(stored, { 'x-smtp-user': null, 'X-New': 'v' }, false);
    expect(plan).toEqual({
      next: { 'X-New': { value: 'v' }, 'X-Smtp-Password': { kept: 'A' } },
      missing: [],
    });
  });

  it('PUT: only what the edits set or keep is left; {set: true} keeps the stored value under its new spelling', () => {
    const plan = planHeaderEdits(
      stored,
      { 'x-smtp-password': { set: true }, 'X-Other': { set: true } },
      true,
    );
    expect(plan).toEqual({ next: { 'x-smtp-password': { kept: 'A' } }, missing: ['X-Other'] });
    expect(planHeaderEdits(stored, {}, true)).toEqual({ next: {}, missing: [] });
  });

  it('a new value replaces the stored one whatever its case', () => {
    const plan = planHeaderEdits(stored, { 'X-SMTP-PASSWORD': 'C' }, false);
    expect(plan.next).toEqual({ 'X-SMTP-PASSWORD': { value: 'C' }, 'X-Smtp-User': { kept: 'B' } });
  });
});

it('repeatedHeaderName finds a name given twice but for case', () => {
  expect(repeatedHeaderName(['X-A', 'X-B', 'x-a'])).toBe('x-a');
  expect(repeatedHeaderName(['X-A', 'X-B'])).toBeNull();
});

it('headerEditsChange: an apply of the same names and values, or of {set: true}, changes nothing', () => {
  const current = { 'X-A': 'a', 'X-B': null };
  expect(headerEditsChange(current, { 'X-A': 'a', 'X-B': { set: true } })).toBe(false);
  expect(headerEditsChange(current, { 'X-A': { set: true }, 'X-B': { set: true }, 'X-C': null })).toBe(false);
  expect(headerEditsChange(current, { 'X-A': 'other', 'X-B': { set: true } })).toBe(true);
  // A header no key opens is set again by a literal value.
  expect(headerEditsChange(current, { 'X-A': 'a', 'X-B': 'b' })).toBe(true);
  expect(headerEditsChange(current, { 'X-A': 'a' })).toBe(true);
  expect(headerEditsChange(current, { 'x-a': 'a', 'X-B': { set: true } })).toBe(true);
  expect(headerEditsChange({}, {})).toBe(false);
});
