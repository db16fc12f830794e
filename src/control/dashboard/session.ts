// The operator dashboard's sign-in: an operator key (ADMIN_API_KEY, or a key with `admin`, or `read` for a
// look without changes) exchanged for an `HttpOnly; Secure; SameSite=Strict` session cookie of 8 h, signed
// like the console's (core/crypto/session) under a key of its own. The session names the key; every request
// checks the key still stands, and the request's actor is that key, so every action is audited with it.
import { and, eq, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sha256Hex, timingSafeEqual } from '../../core/crypto/secrets';
import { csrfToken, readSession, SESSION_TTL_MS, signSession } from '../../core/crypto/session';
import { hasScope } from '../../core/tenancy/scopes';
import { now as clockNow } from '../../core/time/clock';
import { apiKeys } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';

const COOKIE = 'gw_dashboard';
const COOKIE_PATH = '/dashboard';
/** Stands in the tenant's place of the session format: no tenant session can pass for an operator's. */
const OPERATOR = 'operator';

export type Operator = { keyId: string; name: string; canWrite: boolean };
export type DashboardSession = { token: string; csrf: string; operator: Operator };
export type DashboardEnv = {
  Bindings: AppEnv['Bindings'];
  Variables: AppEnv['Variables'] & { dashboard?: DashboardSession };
};

/** Changing ADMIN_API_KEY (or SEALING_KEY) ends every dashboard session. */
function sessionSecret(c: Context<DashboardEnv>): string {
  const sealing = c.env.SEALING_KEY;
  if (!sealing) throw new ApiError('console_unavailable', 'The dashboard is not configured (SEALING_KEY)');
  return `${sealing}\0operator dashboard\0${c.env.ADMIN_API_KEY ?? ''}`;
}

function cookieOptions(c: Context<DashboardEnv>) {
  const host = c.get('host');
  const local = host === 'localhost' || host.endsWith('.localhost');
  return { path: COOKIE_PATH, httpOnly: true, secure: !local, sameSite: 'Strict' } as const;
}

/** The operator a key or a key id stands for, or null: live operator keys with `admin`, `*` or `read`. */
async function operatorOf(c: Context<DashboardEnv>, by: { secret: string } | { id: string }) {
  const adminKey = c.env.ADMIN_API_KEY;
  if ('id' in by ? by.id === 'admin' && adminKey : adminKey && timingSafeEqual(by.secret, adminKey))
    return { keyId: 'admin', name: 'ADMIN_API_KEY', canWrite: true };
  if ('id' in by && by.id === 'admin') return null;
  const db = await useDatabase(c);
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(
      and(
        'id' in by ? eq(apiKeys.id, by.id) : eq(apiKeys.keyHash, await sha256Hex(by.secret)),
        isNull(apiKeys.tenantId),
        isNull(apiKeys.revokedAt),
      ),
    );
  if (!key || (key.expiresAt && key.expiresAt.getTime() <= clockNow())) return null;
  const canWrite = hasScope(key.scopes, 'admin');
  if (!canWrite && !hasScope(key.scopes, 'read')) return null;
  return { keyId: key.id, name: key.name, canWrite };
}

/** Signs in with `secret`: true and the cookie set, or false. */
export async function signInWith(c: Context<DashboardEnv>, secret: string): Promise<boolean> {
  const operator = await operatorOf(c, { secret });
  if (!operator) return false;
  // Operator sessions end with their key (checked on every request), not by an epoch.
  const session = {
    tenantId: OPERATOR,
    adminId: operator.keyId,
    epoch: 0,
    expiresAt: clockNow() + SESSION_TTL_MS,
  };
  const token = await signSession(session, sessionSecret(c));
  setCookie(c, COOKIE, token, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return true;
}

export function signOut(c: Context<DashboardEnv>) {
  deleteCookie(c, COOKIE, cookieOptions(c));
}

/** Sets `dashboard` and the request's actor (the operator key) when the cookie holds a standing session. */
export const loadOperator: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const token = getCookie(c, COOKIE);
  const session = token ? await readSession(token, sessionSecret(c), clockNow()) : null;
  if (token && session?.tenantId === OPERATOR) {
    const operator = await operatorOf(c, { id: session.adminId });
    if (operator) {
      c.set('dashboard', { token, csrf: await csrfToken(token, sessionSecret(c)), operator });
      c.set('actor', { id: operator.keyId, scopes: operator.canWrite ? ['*'] : ['read'], tenant: null });
    }
  }
  await next();
};

export function dashboardOf(c: Context<DashboardEnv>): DashboardSession {
  const session = c.get('dashboard');
  if (!session) throw new ApiError('missing_api_key', 'Sign in to the dashboard');
  return session;
}

/** For form posts: a session whose key may change things, and the form's `_csrf` of that session. */
export const requireWriter: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const session = c.get('dashboard');
  if (!session) return c.redirect('/dashboard', 303);
  const body = await c.req.parseBody();
  const given = typeof body._csrf === 'string' ? body._csrf : '';
  const expected = await csrfToken(session.token, sessionSecret(c));
  if (!timingSafeEqual(given, expected)) {
    throw new ApiError(
      'csrf_rejected',
      'This form was not sent from this dashboard; reload the page and retry',
    );
  }
  if (!session.operator.canWrite) throw new ApiError('insufficient_scope', 'This key may only look (read)');
  await next();
};
