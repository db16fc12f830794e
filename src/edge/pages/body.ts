import type { Context } from 'hono';
import { checkInput, parseJsonText } from '../../core/http/input';
import { ApiError } from '../../errors';
import type { PageEnv } from './env';

const FORM = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;
const JSON_TYPE = /^application\/([\w.-]+\+)?json\b/i;

/** Whether the request came from a script (JSON) rather than one of our forms: it gets JSON back. */
export function isJsonRequest(c: Context<PageEnv>): boolean {
  return JSON_TYPE.test(c.req.header('content-type') ?? '');
}

/** The fields of a form post, or of a JSON object; repeated form fields (checkboxes) become arrays. */
export async function readFields(c: Context<PageEnv>): Promise<Record<string, unknown>> {
  const contentType = c.req.header('content-type') ?? '';
  if (FORM.test(contentType)) {
    const fields = await c.req.parseBody({ all: true });
    checkInput(fields);
    return fields;
  }
  if (JSON_TYPE.test(contentType)) {
    const body = parseJsonText(await c.req.text());
    checkInput(body);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('bad_request', 'The body must be a JSON object');
    }
    return body as Record<string, unknown>;
  }
  throw new ApiError('unsupported_media_type', 'Send a form or JSON (Content-Type: application/json)');
}
