// The operator dashboard (DESIGN.md "Operator dashboard") on the control host, at `/` and `/dashboard/*`:
// server-rendered, no external assets, no script needed, the console's headers and CSRF rules. Every action
// is a form post through src/tenancy/, audited with the signed-in operator key (./session.ts).
import type { Context } from 'hono';
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { FormError, pageHeaders } from '../../edge';
import { ApiError } from '../../errors';
import { DashboardLayout } from './layout';
import { registerDashboardLists } from './lists';
import { type DashboardEnv, loadOperator, signInWith, signOut } from './session';
import { registerTenantPage } from './tenant';
import { TenantsPage } from './tenants';

function SignIn(props: { c: Context<DashboardEnv>; error?: string }) {
  return (
    <DashboardLayout c={props.c} title="Sign in" narrow>
      <h1>Sign in</h1>
      <FormError message={props.error} />
      <section>
        <form method="post" action="/dashboard/sign-in">
          <label for="operator-key">Operator key</label>
          <input id="operator-key" name="key" type="password" required autocomplete="off" />
          <p class="muted">
            <code>ADMIN_API_KEY</code>, or an operator key with <code>admin</code> (or <code>read</code>, to
            look without changing anything).
          </p>
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
      </section>
    </DashboardLayout>
  );
}

function ErrorPage(props: { c: Context<DashboardEnv>; error: ApiError }) {
  return (
    <DashboardLayout c={props.c} title="Error" narrow>
      <h1>{props.error.status === 404 ? 'Not found' : 'Something is not right'}</h1>
      <section class="error" role="alert">
        <p>{props.error.message}</p>
        <p class="muted">
          <code>{props.error.code}</code> · request <code>{props.c.get('requestId')}</code>
        </p>
      </section>
      <p>
        <a href="/dashboard">Back to the tenants</a>
      </p>
    </DashboardLayout>
  );
}

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status === 403)
    return new ApiError('csrf_rejected', 'This form was not sent from this dashboard');
  if (err instanceof HTTPException) return new ApiError('bad_request', 'Malformed request');
  throw err;
}

/** Mounts the dashboard on the control app. */
export function registerDashboard(app: Hono<DashboardEnv>) {
  const dashboard = new Hono<DashboardEnv>();
  dashboard.use(pageHeaders, csrf(), loadOperator);

  dashboard.get('/', (c) => (c.get('dashboard') ? TenantsPage(c) : c.html(<SignIn c={c} />)));
  dashboard.post('/sign-in', async (c) => {
    const body = await c.req.parseBody();
    const key = typeof body.key === 'string' ? body.key.trim() : '';
    if (key && key.length <= 256 && (await signInWith(c, key))) return c.redirect('/dashboard', 303);
    return c.html(<SignIn c={c} error="That is not a live operator key with admin or read." />, 403);
  });
  dashboard.post('/sign-out', (c) => {
    signOut(c);
    return c.redirect('/dashboard', 303);
  });
  // Every other page wants a session: without one, the sign-in form.
  dashboard.use('*', async (c, next) => {
    if (!c.get('dashboard'))
      return c.req.method === 'GET' ? c.html(<SignIn c={c} />, 401) : c.redirect('/dashboard', 303);
    await next();
  });
  registerTenantPage(dashboard);
  registerDashboardLists(dashboard);
  dashboard.all('*', () => {
    throw new ApiError('not_found', 'No such dashboard page');
  });
  dashboard.onError((err, c) => {
    const error = asApiError(err);
    return c.html(<ErrorPage c={c} error={error} />, error.status);
  });

  app.get('/', (c) => c.redirect('/dashboard', 302));
  app.route('/dashboard', dashboard);
}
