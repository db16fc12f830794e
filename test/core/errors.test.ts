import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, test, vi } from 'vitest';
import { z } from 'zod';
import { ApiError, renderError, validationDetails } from '../../src/errors';

/** An app whose one route throws `err`, rendered as the gateway renders every error. */
async function rendered(err: unknown) {
  const app = new Hono();
  app.onError(renderError);
  app.get('/', () => {
    throw err;
  });
  const res = await app.request('/');
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

// Errors as the Neon driver raises them: a DatabaseError with a SQLSTATE, wrapped by drizzle in `cause`.
const pgError = (code: string, constraint?: string) =>
  Object.assign(new Error('Failed query'), { cause: Object.assign(new Error('pg'), { code, constraint }) });

describe('renderError', () => {
  test('an ApiError keeps its status and code', async () => {
    const r = await rendered(new ApiError('validation_failed', 'bad'));
    expect(r).toMatchObject({ status: 422, body: { error: { code: 'validation_failed', message: 'bad' } } });
  });

  test('a unique or foreign key violation no route named is a 409 conflict, not a 500', async () => {
    expect((await rendered(pgError('23505', 'api_keys_pkey'))).body.error.code).toBe('conflict');
    const fk = await rendered(pgError('23503'));
    expect(fk).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
  });

  test('a lost connection is 503 database_unavailable', async () => {
    const r = await rendered(pgError('08006'));
    expect(r).toMatchObject({ status: 503, body: { error: { code: 'database_unavailable' } } });
  });

  test("Hono's own client errors keep their 4xx status in the contract's shape, with the table's code", async () => {
    const r = await rendered(new HTTPException(413));
    expect(r).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large', message: 'The body is too large' } },
    });
    const malformed = await rendered(new HTTPException(400, { message: 'Malformed JSON in request body' }));
    expect(malformed).toMatchObject({
      status: 400,
      body: { error: { code: 'bad_request', message: 'Malformed JSON in request body' } },
    });
  });

  test('a code gives its status and, unless told otherwise, its default message', async () => {
    const r = await rendered(new ApiError('tenant_suspended'));
    expect(r).toMatchObject({
      status: 403,
      body: { error: { code: 'tenant_suspended', message: 'The tenant is suspended' } },
    });
  });

  test('anything else is a bare 500 that shows nothing of the error', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const r = await rendered(new Error('secret detail at /src/x.ts:1'));
    log.mockRestore();
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('secret detail');
    expect(r.body.error.code).toBe('internal_error');
  });
});

describe('validationDetails', () => {
  test('names each unknown field in its own path', () => {
    const result = z.strictObject({ name: z.string(), limits: z.strictObject({ a: z.number() }) }).safeParse({
      name: 1,
      extra: true,
      limits: { a: 1, b: 2 },
    });
    expect(result.success).toBe(false);
    const details = validationDetails(result.error?.issues ?? []);
    expect(details).toEqual(
      expect.arrayContaining([
        { path: 'name', message: expect.any(String) },
        { path: 'extra', message: 'Unknown field' },
        { path: 'limits.b', message: 'Unknown field' },
      ]),
    );
    expect(details).toHaveLength(3);
  });
});
