import { and, eq } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  csrfToken,
  readSession,
  SESSION_TTL_MS,
  type Session,
  sessionIssuedAt,
  signSession,
} from '../../core/crypto/session';
import { now as clockNow } from '../../core/time/clock';
import { tenantAdmins } from '../../db/schema';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { type ConsoleSession, type PageEnv, tenantOf } from './env';

const COOKIE = 'gw_session';
const COOKIE_PATH = '/_gateway';

export function sessionSecret(c: Context<PageEnv>): string {
  const secret = c.env.SEALING_KEY;
  if (!secret) throw new ApiError('console_unavailable', 'The console is not configured (SEALING_KEY)');
  return secret;
}

// Plain http only where browsers treat the host as secure anyway: *.localhost in development.
function cookieOptions(c: Context<PageEnv>) {
  const host = c.get('host');
  const local = host === 'localhost' || host.endsWith('.localhost');
  return { path: COOKIE_PATH, httpOnly: true, secure: !local, sameSite: 'Strict' } as const;
}

/** This request is `admin`'s session from here on: its pages render with the session's CSRF token. */
async function useSession(
  c: Context<PageEnv>,
  token: string,
  session: Session,
  admin: ConsoleSession['admin'],
) {
  const tenant = tenantOf(c);
  const csrf = await csrfToken(token, sessionSecret(c));
  c.set('session', { token, csrf, admin, issuedAt: sessionIssuedAt(session) });
  // Console changes are audited and checked like a tenant:admin key's, with the admin as the actor.
  c.set('actor', { id: admin.id, scopes: ['*'], tenant: { id: tenant.id, slug: tenant.slug } });
}

/** Signs `admin` in: a cookie under the account's current session epoch, and this request's session. */
export async function startSession(
  c: Context<PageEnv>,
  admin: { id: string; email: string; sessionEpoch: number },
) {
  const session = {
    tenantId: tenantOf(c).id,
    adminId: admin.id,
    epoch: admin.sessionEpoch,
    expiresAt: clockNow() + SESSION_TTL_MS,
  };
  const token = await signSession(session, sessionSecret(c));
  setCookie(c, COOKIE, token, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  await useSession(c, token, session, { id: admin.id, email: admin.email });
}

export function endSession(c: Context<PageEnv>) {
  deleteCookie(c, COOKIE, cookieOptions(c));
}

/**
 * Middleware: sets `session` when the cookie holds a valid, unexpired session for this tenant whose admin
 * still exists and whose epoch is the admin's current one (a new password ends every older session). It
 * does not refuse anything; pages and `requireSession` decide.
 */
export const loadSession: MiddlewareHandler<PageEnv> = async (c, next) => {
  const token = getCookie(c, COOKIE);
  const tenant = tenantOf(c);
  const session = token ? await readSession(token, sessionSecret(c), clockNow()) : null;
  if (token && session?.tenantId === tenant.id) {
    const db = await useDatabase(c);
    const [admin] = await db
      .select({ id: tenantAdmins.id, email: tenantAdmins.email })
      .from(tenantAdmins)
      .where(
        and(
          eq(tenantAdmins.id, session.adminId),
          eq(tenantAdmins.tenantId, tenant.id),
          eq(tenantAdmins.sessionEpoch, session.epoch),
        ),
      );
    if (admin) await useSession(c, token, session, admin);
  }
  await next();
};

/** Middleware after `loadSession` on form posts: without a session, back to the sign-in page. */
export const requireSession: MiddlewareHandler<PageEnv> = async (c, next) => {
  if (!c.get('session')) return c.redirect('/_gateway/console', 303);
  await next();
};
