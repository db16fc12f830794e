import type { MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { checkCsrfToken } from '../../core/crypto/session';
import { ApiError } from '../../errors';
import type { PageEnv } from './env';
import { sessionSecret } from './session';

/**
 * Form posts must come from this very host: `Sec-Fetch-Site: same-origin` or a matching `Origin`. Our pages
 * send `Referrer-Policy: no-referrer`, under which browsers post `Origin: null`, so modern browsers pass on
 * `Sec-Fetch-Site`. JSON posts are not forms a foreign page could send, so they are not checked here.
 */
export const sameOrigin = csrf();

export function csrfRejected(): ApiError {
  return new ApiError('csrf_rejected', 'This form was not sent from this console; reload the page and retry');
}

/** Middleware after `requireSession` on every console form: the form's `_csrf` must match the session. */
export const checkCsrf: MiddlewareHandler<PageEnv> = async (c, next) => {
  const session = c.get('session');
  const body = await c.req.parseBody();
  const given = typeof body._csrf === 'string' ? body._csrf : undefined;
  if (!session || !(await checkCsrfToken(session.token, given, sessionSecret(c)))) throw csrfRejected();
  await next();
};
