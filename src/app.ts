import { OpenAPIHono } from '@hono/zod-openapi';
import { registerControlRoutes } from './control/routes';
import { newRequestId, sanitizeRequestId } from './core/headers';
import { matchHost, normalizeHost, parseBaseDomains } from './core/host';
import { databaseScope } from './db/client';
import type { AppEnv, Bindings } from './env';
import { ApiError, errorResponse, renderError, validationDetails } from './errors';
import { handleTenantRequest } from './proxy/handle';

// Parsed once per isolate and per distinct value (env vars do not change within an isolate).
let baseDomainsSource: string | undefined;
let baseDomains: string[] = [];
function configuredBaseDomains(env: Bindings): string[] {
  if (env.BASE_DOMAINS !== baseDomainsSource) {
    baseDomainsSource = env.BASE_DOMAINS;
    baseDomains = parseBaseDomains(env.BASE_DOMAINS ?? '');
  }
  return baseDomains;
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(
          'validation_failed',
          'The request is not valid',
          validationDetails(result.error.issues),
        );
      }
    },
  });

  // Request id, HTTP-level sanity and host routing: everything not for the control host is the data plane.
  app.use(async (c, next) => {
    const requestId = sanitizeRequestId(c.req.header('x-request-id') ?? null) ?? newRequestId();
    c.set('requestId', requestId);
    const hostHeader = c.req.header('host');
    // Several Host headers reach the worker folded into one comma-separated value.
    if (hostHeader?.includes(',')) throw new ApiError('invalid_host', 'Several Host headers');
    if (c.req.header('content-length') !== undefined && c.req.header('transfer-encoding') !== undefined) {
      throw new ApiError('bad_request', 'Both Content-Length and Transfer-Encoding are set');
    }
    // Tests through SELF.fetch send no Host header; in production the URL carries the same host.
    const host = normalizeHost(new URL(c.req.url).host);
    if (!host) throw new ApiError('invalid_host', 'The Host header is not a valid host name');
    c.set('host', host);
    const match = matchHost(host, {
      controlHost: normalizeHost(c.env.CONTROL_HOST) ?? c.env.CONTROL_HOST,
      baseDomains: configuredBaseDomains(c.env),
    });
    if (match.kind !== 'control') return handleTenantRequest(c, match);
    c.header('x-request-id', requestId);
    await next();
  });
  app.use(databaseScope());

  registerControlRoutes(app);

  app.notFound((c) => errorResponse(new ApiError('not_found', 'No such route'), c.get('requestId') ?? '-'));
  app.onError(renderError);
  return app;
}
