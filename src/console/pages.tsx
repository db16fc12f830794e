// The gateway's own pages on every tenant host (`/_gateway/*`, never forwarded): install and console.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import { databaseScope } from '../db/client';
import type { TenantRecord } from '../db/snapshot-query';
import type { AppEnv } from '../env';
import { ApiError, renderError } from '../errors';
import { isJsonRequest } from './body';
import { registerConsole } from './console';
import { csrfRejected, sameOrigin } from './csrf';
import { type PageEnv, tenantOf } from './env';
import { registerInstall } from './install';
import { registerKeys } from './keys';
import { Layout } from './layout';
import { registerSignIn } from './sign-in';

const MAX_FORM_BYTES = 16 * 1024;

function ErrorPage(props: { c: Context<PageEnv>; error: ApiError }) {
  const { c, error } = props;
  return (
    <Layout title="Error" nonce={c.get('secureHeadersNonce') ?? ''} tenantName={tenantOf(c).name} narrow>
      <h1>{error.status === 404 ? 'Not found' : 'Something is not right'}</h1>
      <section class="error" role="alert">
        <p>{error.message}</p>
        <p class="muted">
          <code>{error.code}</code> · request <code>{c.get('requestId')}</code>
        </p>
      </section>
      <p>
        <a href="/_gateway/console">Back to the console</a>
      </p>
    </Layout>
  );
}

function asApiError(err: unknown): unknown {
  if (!(err instanceof HTTPException)) return err;
  // hono/csrf refuses a cross-site form post with a bare 403.
  return err.status === 403 ? csrfRejected() : new ApiError('bad_request', 'Malformed request');
}

const pages = new Hono<PageEnv>();

// The tenant the data plane resolved, handed to the page app with its request.
const resolvedFor = new WeakMap<Request, { tenant: TenantRecord; requestId: string; host: string }>();

pages.use(async (c, next) => {
  const resolved = resolvedFor.get(c.req.raw);
  if (!resolved) throw new ApiError('not_found', 'No such gateway page');
  c.set('tenant', resolved.tenant);
  c.set('requestId', resolved.requestId);
  c.set('host', resolved.host);
  await next();
  c.header('x-request-id', resolved.requestId);
  c.header('cache-control', 'no-store');
});
pages.use(
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: [NONCE],
      imgSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
  }),
);
pages.use(databaseScope());
pages.use(sameOrigin);
pages.use(
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => {
      throw new ApiError('payload_too_large', 'The form is too large');
    },
  }),
);

registerInstall(pages);
registerSignIn(pages);
registerConsole(pages);
registerKeys(pages);

pages.notFound(() => {
  throw new ApiError('not_found', 'No such gateway page');
});

pages.onError((raw, c) => {
  const err = asApiError(raw);
  // Scripts (JSON) get the contract's error shape; browsers a page saying the same.
  if (!(err instanceof ApiError) || isJsonRequest(c)) return renderError(err, c);
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.html(<ErrorPage c={c} error={err} />, err.status);
});

/** Serves `/_gateway/*` on a tenant host. */
export function serveGatewayPage(c: Context<AppEnv>, tenant: TenantRecord): Response | Promise<Response> {
  resolvedFor.set(c.req.raw, { tenant, requestId: c.get('requestId'), host: c.get('host') });
  return pages.fetch(c.req.raw, c.env, c.executionCtx);
}

/** What browsers get on any other path of a pending tenant: the install form, with 409. */
export async function serveInstallPageInstead(c: Context<AppEnv>, tenant: TenantRecord) {
  const request = new Request(new URL('/_gateway/install', c.req.url), { headers: c.req.raw.headers });
  resolvedFor.set(request, { tenant, requestId: c.get('requestId'), host: c.get('host') });
  const page = await pages.fetch(request, c.env, c.executionCtx);
  return new Response(page.body, { status: page.status === 200 ? 409 : page.status, headers: page.headers });
}
