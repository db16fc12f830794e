// The admin's account in the console: a new password (the current one asked for, except from the session a
// recovery link just signed in), and what a recovery link did: who made the last one used, and when. A new
// password goes through src/tenancy/admin-password (its epoch ends every other session); this session gets
// a fresh cookie and stays signed in.
import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../../core/crypto/secrets';
import { mayOmitCurrentPassword, type RecoveryState, recoveryPending } from '../../core/tenancy/recovery';
import { recoveryTokens, tenantAdmins } from '../../db/schema';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { setAdminPassword } from '../../tenancy/admin-password';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { beginAttempt } from './attempts';
import { checkCsrf } from './csrf';
import { type ConsoleSession, type PageEnv, tenantOf } from './env';
import { fmt } from './key-list';
import { FormError } from './kit';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { MIN_PASSWORD_LENGTH, NEW_PASSWORD_FIELDS, NewPasswordInputs, passwordsMatch } from './new-password';
import { loadSession, requireSession, startSession } from './session';

const PASSWORD_PATH = '/_gateway/console/password';

const PasswordBody = z
  .object({ current_password: z.string().max(256).optional(), ...NEW_PASSWORD_FIELDS })
  .refine(...passwordsMatch);

/** What the account pages show: when the password was set, and the last recovery link used. */
export async function accountOf(c: Context<PageEnv>, adminId: string) {
  const db = await useDatabase(c);
  const [[admin], [recovery]] = await Promise.all([
    db
      .select({ passwordHash: tenantAdmins.passwordHash, passwordChangedAt: tenantAdmins.passwordChangedAt })
      .from(tenantAdmins)
      .where(and(eq(tenantAdmins.id, adminId), eq(tenantAdmins.tenantId, tenantOf(c).id))),
    db
      .select({
        createdBy: recoveryTokens.createdBy,
        createdByName: recoveryTokens.createdByName,
        createdAt: recoveryTokens.createdAt,
        usedAt: recoveryTokens.usedAt,
      })
      .from(recoveryTokens)
      .where(and(eq(recoveryTokens.adminId, adminId), isNotNull(recoveryTokens.usedAt)))
      .orderBy(desc(recoveryTokens.usedAt))
      .limit(1),
  ]);
  if (!admin) throw new ApiError('not_found', 'No such admin');
  const state: RecoveryState = {
    lastRecoveryUsedAt: recovery?.usedAt?.getTime() ?? null,
    passwordChangedAt: admin.passwordChangedAt?.getTime() ?? null,
  };
  return { admin, recovery, state, pending: recoveryPending(state) };
}

type Account = Awaited<ReturnType<typeof accountOf>>;

/** Who made the last recovery link used, and when it was made and used. */
function RecoveryLine(props: { recovery: NonNullable<Account['recovery']> }) {
  const { recovery } = props;
  return (
    <>
      made by the operator key <strong>{recovery.createdByName}</strong> (<code>{recovery.createdBy}</code>)
      at {fmt(recovery.createdAt)} UTC, used to sign in at {fmt(recovery.usedAt)} UTC
    </>
  );
}

/** On every console page while a recovery is pending: it was used, by whom, and a new password is due. */
export function RecoveryNotice(props: { account: Account; onForm?: boolean }) {
  const { recovery, pending } = props.account;
  if (!pending || !recovery) return null;
  return (
    <section class="notice" id="recovery" role="status">
      <h2>A recovery link was used</h2>
      <p>
        This account was signed in with a recovery link <RecoveryLine recovery={recovery} />. Set a new
        password: it signs out every other session.
      </p>
      {props.onForm ? null : (
        <p>
          <a href={PASSWORD_PATH}>Set a new password</a>
        </p>
      )}
    </section>
  );
}

/** The overview's account summary. */
export function AccountSection(props: { session: ConsoleSession; account: Account }) {
  const { recovery, admin } = props.account;
  return (
    <section id="account">
      <h2>Account</h2>
      <dl>
        <dt>Admin</dt>
        <dd>{props.session.admin.email}</dd>
        <dt>Password set</dt>
        <dd>{admin.passwordChangedAt ? `${fmt(admin.passwordChangedAt)} UTC` : 'at installation'}</dd>
        <dt>Last recovery link</dt>
        <dd>{recovery ? <RecoveryLine recovery={recovery} /> : 'never used'}</dd>
      </dl>
      <p>
        <a href={PASSWORD_PATH}>Change password</a>
      </p>
    </section>
  );
}

function PasswordPage(props: { c: Context<PageEnv>; account: Account; error?: string; changed?: boolean }) {
  const { c, account } = props;
  const session = c.get('session') as ConsoleSession;
  const askCurrent = !mayOmitCurrentPassword(account.state, session.issuedAt);
  return (
    <Layout
      title="Password"
      nonce={c.get('secureHeadersNonce') ?? ''}
      tenantName={tenantOf(c).name}
      nav={<ConsoleNav c={c} />}
    >
      <h1>Password</h1>
      {props.changed ? (
        <section class="notice" role="status">
          <p>The password is changed. Every other session of this account is signed out.</p>
        </section>
      ) : null}
      <RecoveryNotice account={account} onForm />
      <FormError message={props.error} />
      <section>
        <form method="post" action={PASSWORD_PATH}>
          <input type="hidden" name="_csrf" value={session.csrf} />
          {askCurrent ? (
            <>
              <label for="current_password">Current password</label>
              <input
                id="current_password"
                name="current_password"
                type="password"
                required
                autocomplete="current-password"
              />
            </>
          ) : null}
          <NewPasswordInputs label="New password" />
          <p class="muted">
            At least {MIN_PASSWORD_LENGTH} characters. Every other session of this account is signed out; this
            one stays signed in.
          </p>
          <div class="actions">
            <button type="submit">Set password</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/** The password form for this request's session (a recovery link renders it at once: ./recovery). */
export async function passwordPage(c: Context<PageEnv>, opts: { changed?: boolean } = {}) {
  const session = c.get('session') as ConsoleSession;
  const account = await accountOf(c, session.admin.id);
  return c.html(<PasswordPage c={c} account={account} changed={opts.changed} />);
}

export function registerPassword(app: Hono<PageEnv>) {
  app.get(PASSWORD_PATH, loadSession, requireSession, (c) =>
    passwordPage(c, { changed: c.req.query('changed') !== undefined }),
  );

  app.post(PASSWORD_PATH, loadSession, requireSession, checkCsrf, async (c) => {
    const session = c.get('session') as ConsoleSession;
    const account = await accountOf(c, session.admin.id);
    const parsed = PasswordBody.safeParse(await c.req.parseBody());
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => i.message).join('; ');
      return c.html(<PasswordPage c={c} account={account} error={message} />, 422);
    }
    const body = parsed.data;
    const viaRecovery = mayOmitCurrentPassword(account.state, session.issuedAt);
    if (!viaRecovery) {
      // A guess at the password like a sign-in's: counted and slowed down alike.
      const succeeded = await beginAttempt(c, 'sign-in');
      const right = await verifyPassword(body.current_password ?? '', account.admin.passwordHash);
      if (!right) {
        return c.html(<PasswordPage c={c} account={account} error="The current password is wrong." />, 403);
      }
      succeeded();
    }
    const passwordHash = await hashPassword(body.password);
    const admin = { id: session.admin.id, tenantId: tenantOf(c).id };
    const input = { passwordHash, via: viaRecovery ? ('recovery' as const) : ('change' as const) };
    const changed = await setAdminPassword(await writerOf(c, tenantChanged), admin, input);
    await startSession(c, { ...changed, email: session.admin.email });
    return c.redirect(`${PASSWORD_PATH}?changed`, 303);
  });
}
