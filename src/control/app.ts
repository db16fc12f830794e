// The control host's app: the control API, its OpenAPI document and reference page.
import { OpenAPIHono } from '@hono/zod-openapi';
import { allowedMethods } from '../core/http/allowed-methods';
import { propagateChanges } from '../edge';
import type { AppEnv } from '../env';
import { ApiError, errorResponse, renderError, validationDetails } from '../errors';
import { frontDoor } from '../front-door';
import { databaseScope } from '../request-database';
import { registerDashboard } from './dashboard';
import { registerControlRoutes } from './routes';

export function createControlApp() {
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

  app.use(frontDoor);
  app.use(async (c, next) => {
    c.header('x-request-id', c.get('requestId'));
    await next();
  });
  app.use(databaseScope());
  app.use(propagateChanges());

  registerControlRoutes(app);
  registerDashboard(app);

  app.notFound((c) => {
    const requestId = c.get('requestId') ?? '-';
    const allow = allowedMethods(app.routes, new URL(c.req.url).pathname);
    if (allow.length > 0) {
      const message = `${c.req.method} is not allowed here; use ${allow.join(', ')}`;
      return errorResponse(
        new ApiError('method_not_allowed', message, undefined, { allow: allow.join(', ') }),
        requestId,
      );
    }
    return errorResponse(new ApiError('not_found', 'No such route'), requestId);
  });
  app.onError(renderError);
  return app;
}
