import { eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { hashPassword, sha256Hex } from '../../core/crypto/secrets';
import { tenants } from '../../db/schema';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { installTenant, invalidInstallToken, isLiveInstallToken } from '../../tenancy/install';
import { toTenantJson } from '../../tenancy/tenant-schemas';
import { tenantHostsOf } from '../../tenancy/tenant-urls';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { beginAttempt } from './attempts';
import { isJsonRequest, readFields } from './body';
import { type PageEnv, tenantOf } from './env';
import { CopyButton, FormError } from './kit';
import { Layout } from './layout';
import { NEW_PASSWORD_FIELDS, NewPasswordInputs, passwordsMatch } from './new-password';
import { startSession } from './session';
import { validationError } from './validation';

const InstallBody = z
  .object({
    install_token: z.string().trim().min(1, 'the install token is required').max(256),
    email: z.string().trim().toLowerCase().max(254).pipe(z.email('enter an email address')),
    ...NEW_PASSWORD_FIELDS,
  })
  .refine(...passwordsMatch);

function InstallForm(props: { c: Context<PageEnv>; error?: string; email?: string }) {
  const tenant = tenantOf(props.c);
  return (
    <Layout title="Install" nonce={props.c.get('secureHeadersNonce') ?? ''} tenantName={tenant.name} narrow>
      <h1>Install {tenant.name}</h1>
      <p class="muted">
        Enter the install token you were given and choose the administrator account for this tenant's console.
        The token comes from the gateway's operator: it is in the answer to the <code>POST /v1/tenants</code>
        that created this tenant, or a new one from the operator dashboard ("New install token") or{' '}
        <code>POST /v1/tenants/{tenant.slug}/install-token</code>. It is single use and valid for 7 days.
      </p>
      <FormError message={props.error} />
      <section>
        <form method="post" action="/_gateway/install">
          <label for="install_token">Install token</label>
          <input
            id="install_token"
            name="install_token"
            type="text"
            required
            autocomplete="off"
            spellcheck={false}
          />
          <label for="email">Admin email</label>
          <input id="email" name="email" type="email" required autocomplete="username" value={props.email} />
          <NewPasswordInputs label="Password" />
          <div class="actions">
            <button type="submit">Install</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

function AlreadyInstalled(props: { c: Context<PageEnv> }) {
  const tenant = tenantOf(props.c);
  return (
    <Layout title="Installed" nonce={props.c.get('secureHeadersNonce') ?? ''} tenantName={tenant.name} narrow>
      <h1>{tenant.name} is already installed</h1>
      <section>
        <p>
          Its administrator signs in at the <a href="/_gateway/console">console</a>.
        </p>
      </section>
    </Layout>
  );
}

function Installed(props: { c: Context<PageEnv>; secret: string; email: string }) {
  const tenant = tenantOf(props.c);
  return (
    <Layout title="Installed" nonce={props.c.get('secureHeadersNonce') ?? ''} tenantName={tenant.name} narrow>
      <h1>{tenant.name} is installed</h1>
      <section class="notice">
        <p>
          This is your <code>tenant:admin</code> API key. Copy it now: <strong>it is not shown again</strong>.
        </p>
        <code class="secret" id="secret">
          {props.secret}
        </code>
        <CopyButton target="secret" />
        <p class="muted">It manages this tenant's keys and domains through the control API.</p>
      </section>
      <section>
        <p>
          You are signed in as <strong>{props.email}</strong>: go on to the{' '}
          <a href="/_gateway/console">console</a>.
        </p>
      </section>
    </Layout>
  );
}

async function tenantStatus(c: Context<PageEnv>) {
  const db = await useDatabase(c);
  const [row] = await db
    .select({ status: tenants.status })
    .from(tenants)
    .where(eq(tenants.id, tenantOf(c).id));
  return row?.status;
}

/** The install form, answered with `formStatus`, while the tenant is pending; after that, 409 saying so. */
export async function installPage(c: Context<PageEnv>, formStatus: 200 | 409 = 200) {
  if ((await tenantStatus(c)) !== 'pending') return c.html(<AlreadyInstalled c={c} />, 409);
  return c.html(<InstallForm c={c} />, formStatus);
}

export function registerInstall(app: Hono<PageEnv>) {
  app.get('/_gateway/install', (c) => installPage(c));

  app.post('/_gateway/install', async (c) => {
    const json = isJsonRequest(c);
    const fields = await readFields(c);
    const email = typeof fields.email === 'string' ? fields.email : undefined;
    try {
      const parsed = InstallBody.safeParse(fields);
      if (!parsed.success) throw validationError(parsed.error);
      const body = parsed.data;
      const succeeded = await beginAttempt(c, 'install');
      const tokenHash = await sha256Hex(body.install_token);
      if (!(await isLiveInstallToken(await useDatabase(c), tenantOf(c).id, tokenHash))) {
        throw invalidInstallToken();
      }
      const passwordHash = await hashPassword(body.password);
      const input = { tokenHash, email: body.email, passwordHash };
      const installed = await installTenant(await writerOf(c, tenantChanged), tenantOf(c), input);
      succeeded();
      // The admin who just chose the password is signed in to the console at once.
      // A new account is at the first session epoch (the column default).
      await startSession(c, { id: installed.adminId, email: body.email, sessionEpoch: 0 });
      if (json)
        return c.json(
          {
            tenant: toTenantJson(installed.view, tenantHostsOf(c.env)),
            key: installed.key,
            secret: installed.secret,
          },
          201,
        );
      return c.html(<Installed c={c} secret={installed.secret} email={body.email} />, 201);
    } catch (err) {
      // A form gets its own page back with the reason; scripts get the JSON error from onError.
      if (json || !(err instanceof ApiError)) throw err;
      if (err.code === 'conflict') return c.html(<AlreadyInstalled c={c} />, 409);
      if (err.code !== 'invalid_install_token' && err.code !== 'validation_failed') throw err;
      const message = err.details?.map((d) => d.message).join('; ') ?? err.message;
      return c.html(<InstallForm c={c} error={message} email={email} />, err.status);
    }
  });
}
