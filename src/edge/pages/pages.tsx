// The gateway's own pages on every tenant host (`/_gateway/*`, never forwarded): install, recovery, console.
// Mounted in the tenant-host app (src/edge/app.ts), which has resolved the tenant before any of them runs.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { every } from 'hono/combine';
import { HTTPException } from 'hono/http-exception';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import { ApiError, renderError } from '../../errors';
import { databaseScope } from '../../request-database';
import { isJsonRequest } from './body';
import { registerConsole } from './console';
import { csrfRejected, sameOrigin } from './csrf';
import { registerDomains } from './domains';
import { type PageEnv, tenantOf } from './env';
import { installPage, registerInstall } from './install';
import { registerKeyEdit } from './key-edit';
import { registerKeys } from './keys';
import { Layout } from './layout';
import { registerPassword } from './password';
import { registerRecovery } from './recovery';
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

/** Scripts (JSON) get the contract's error shape; browsers a page saying the same. */
function renderPageError(raw: unknown, c: Context<PageEnv>): Response | Promise<Response> {
  const err = asApiError(raw);
  if (!(err instanceof ApiError) || isJsonRequest(c)) return renderError(err, c);
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.html(<ErrorPage c={c} error={err} />, err.status);
}

/**
 * The headers of every HTML page of the gateway's, the console's and the operator dashboard's alike: the CSP
 * (nothing but this response's own inline style and script), no framing, no referrer, no caching.
 */
export const pageHeaders = every(
  async (c, next) => {
    await next();
    c.header('x-request-id', c.get('requestId'));
    c.header('cache-control', 'no-store');
  },
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: [NONCE],
      // The copy button's script only (kit.tsx): the pages work without it.
      scriptSrc: [NONCE],
      imgSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
  }),
);

/** What every page carries (its headers, a database connection closed after it), whatever asked for it. */
const pageFrame = every(pageHeaders, databaseScope());

/** The `/_gateway/*` routes, for the tenant the host resolved to. */
export function createGatewayPages() {
  const pages = new Hono<PageEnv>();
  pages.use(
    pageFrame,
    sameOrigin,
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', 'The form is too large');
      },
    }),
  );

  registerInstall(pages);
  registerSignIn(pages);
  registerRecovery(pages);
  registerPassword(pages);
  registerConsole(pages);
  registerKeys(pages);
  registerKeyEdit(pages);
  registerDomains(pages);

  // Last: every other gateway path and method, so that it gets this app's error page.
  pages.all('*', () => {
    throw new ApiError('not_found', 'No such gateway page');
  });
  pages.onError(renderPageError);
  return pages;
}

/**
 * What browsers get on any other path of a pending tenant: the install form, with 409, in the frame of
 * every page. Whatever the request's method, it is not a form post of ours, so its body is never read.
 */
export async function installPageInstead(c: Context<PageEnv>): Promise<Response> {
  await pageFrame(c, async () => {
    try {
      c.res = await installPage(c, 409);
    } catch (err) {
      c.res = await renderPageError(err, c);
    }
  });
  return c.res;
}
