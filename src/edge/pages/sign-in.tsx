import { and, eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../../core/crypto/secrets';
import { tenantAdmins } from '../../db/schema';
import { useDatabase } from '../../request-database';
import { beginAttempt } from './attempts';
import { checkCsrf } from './csrf';
import { type PageEnv, tenantOf } from './env';
import { FormError } from './kit';
import { Layout } from './layout';
import { endSession, loadSession, requireSession, startSession } from './session';

const SignInBody = z.object({
  email: z.string().trim().toLowerCase().min(1).max(254),
  password: z.string().min(1).max(256),
});

// An unknown email costs the same PBKDF2 run as a wrong password, so timing does not tell which it was.
let unknownAdminHash: Promise<string> | undefined;

export function SignInPage(props: { c: Context<PageEnv>; error?: string; email?: string }) {
  const tenant = tenantOf(props.c);
  return (
    <Layout title="Sign in" nonce={props.c.get('secureHeadersNonce') ?? ''} tenantName={tenant.name} narrow>
      <h1>Sign in</h1>
      <FormError message={props.error} />
      <section>
        <form method="post" action="/_gateway/console/sign-in">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" required autocomplete="username" value={props.email} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" required autocomplete="current-password" />
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
        <details id="forgot-password">
          <summary>Forgot password?</summary>
          <p class="muted">
            Ask the gateway's operator for a recovery link: they make one from the operator dashboard (the
            tenant's page, "Recovery link") or with <code>POST /v1/tenants/{tenant.slug}/recovery</code>. It
            works once, for 15 minutes; opening it signs you in here and asks for a new password, which signs
            out every other session. The console will show which operator key made it and when it was used.
          </p>
        </details>
      </section>
    </Layout>
  );
}

export function registerSignIn(app: Hono<PageEnv>) {
  app.post('/_gateway/console/sign-in', async (c) => {
    const parsed = SignInBody.safeParse(await c.req.parseBody());
    if (!parsed.success) return c.html(<SignInPage c={c} error="Enter your email and password." />, 422);
    const { email, password } = parsed.data;
    const succeeded = await beginAttempt(c, 'sign-in');
    const db = await useDatabase(c);
    const [admin] = await db
      .select()
      .from(tenantAdmins)
      .where(and(eq(tenantAdmins.tenantId, tenantOf(c).id), eq(tenantAdmins.email, email)));
    unknownAdminHash ??= hashPassword(crypto.randomUUID());
    const valid = await verifyPassword(password, admin?.passwordHash ?? (await unknownAdminHash));
    if (!admin || !valid) {
      return c.html(<SignInPage c={c} error="Wrong email or password." email={email} />, 403);
    }
    succeeded();
    await db.update(tenantAdmins).set({ lastLoginAt: new Date() }).where(eq(tenantAdmins.id, admin.id));
    await startSession(c, admin);
    return c.redirect('/_gateway/console', 303);
  });

  app.post('/_gateway/console/sign-out', loadSession, requireSession, checkCsrf, (c) => {
    endSession(c);
    return c.redirect('/_gateway/console', 303);
  });
}
