// What both apps do first with every request: give it an id, refuse what is malformed at the HTTP level
// before any lookup (DESIGN.md "Data plane"), and read its host.
import type { MiddlewareHandler } from 'hono';
import { newRequestId, sanitizeRequestId } from './core/http/headers';
import { normalizeHost } from './core/http/host';
import { RequestFields } from './core/http/request-fields';
import type { AppEnv } from './env';
import { ApiError } from './errors';

export const frontDoor: MiddlewareHandler<AppEnv> = async (c, next) => {
  const fields = new RequestFields(c.req.raw.headers);
  c.set('fields', fields);
  const requestId = sanitizeRequestId(fields.get('x-request-id')) ?? newRequestId();
  c.set('requestId', requestId);
  // Several Host headers reach the worker folded into one comma-separated value.
  if (fields.get('host')?.includes(',')) throw new ApiError('invalid_host', 'Several Host headers');
  if (fields.get('content-length') !== null && fields.get('transfer-encoding') !== null) {
    throw new ApiError('bad_request', 'Both Content-Length and Transfer-Encoding are set');
  }
  // Tests through SELF.fetch send no Host header; in production the URL carries the same host.
  const url = new URL(c.req.url);
  c.set('url', url);
  const host = normalizeHost(url.host);
  if (!host) throw new ApiError('invalid_host', 'The Host header is not a valid host name');
  c.set('host', host);
  await next();
};
