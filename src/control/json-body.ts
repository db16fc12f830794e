import type { MiddlewareHandler } from 'hono';
import { checkInput, parseJsonText } from '../core/http/input';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A resource body's bound: the largest one (a tenant with 64 KiB of settings, 200 routes) fits many times. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

function tooLarge(): ApiError {
  return new ApiError('payload_too_large', 'A JSON body is at most 1 MiB');
}

/**
 * Route middleware for JSON bodies, ahead of the zod validators: a body that is not JSON or does not
 * parse is answered here in the contract's error shape. The parsed body is cached for the validator.
 */
export const jsonOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const contentType = c.req.header('content-type');
  if (contentType === undefined) {
    // No body at all: the schema then reports the missing fields (422). The read is cached for the validators.
    if (c.req.raw.body === null || (await c.req.arrayBuffer()).byteLength === 0) return next();
    throw new ApiError('unsupported_media_type', 'Send the body as JSON (Content-Type: application/json)');
  }
  if (!JSON_MEDIA_TYPE.test(contentType.split(';')[0].trim())) {
    throw new ApiError('unsupported_media_type', 'Send the body as JSON (Content-Type: application/json)');
  }
  if (Number(c.req.header('content-length') ?? 0) > MAX_JSON_BODY_BYTES) throw tooLarge();
  // A body sent without a length is measured once read (the read is cached for the validators).
  if ((await c.req.arrayBuffer()).byteLength > MAX_JSON_BODY_BYTES) throw tooLarge();
  // Read as text (cached for the validators, which parse it again) so duplicate keys can be seen.
  checkInput(parseJsonText(await c.req.text()));
  return next();
};
