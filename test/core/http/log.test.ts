import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, test, vi } from 'vitest';
import { describeError, logError } from '../../../src/core/http/log';

describe('logError', () => {
  test('a failed query is logged by its SQLSTATE, never with its parameters', () => {
    const hash = 'a3f1c2e4b5d6978812345678909abcdef0123456789abcdef0123456789abcd';
    const cause = Object.assign(new Error('duplicate key value'), { code: '23505' });
    const err = new DrizzleQueryError('select * from api_keys where key_hash = $1', [hash], cause);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    logError({ at: 'request', request_id: 'r1', route: '/v1/keys', status: 500 }, err);
    spy.mockRestore();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(hash);
    expect(lines[0]).not.toContain('key_hash');
    expect(JSON.parse(lines[0])).toEqual({
      level: 'error',
      at: 'request',
      request_id: 'r1',
      route: '/v1/keys',
      status: 500,
      error: 'Error: failed query (SQLSTATE 23505)',
    });
  });

  test('other errors by name and first line; what is not an error says nothing of itself', () => {
    expect(describeError(new TypeError('bad thing\n    at secret.ts:1'))).toBe('TypeError: bad thing');
    expect(describeError({ password: 'hunter2' })).toBe('non-error thrown');
  });
});
