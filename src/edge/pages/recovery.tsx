// Opening a recovery link (`/_gateway/console/recover?token=…`, made by an operator through
// POST /v1/tenants/:tenant/recovery or the dashboard): a valid token signs the tenant's admin in, as the
// sign-in form does, and answers the password form. Every attempt is counted like an install token's, so
// guessing is slowed down. Browsers get the error page, anything else the contract's JSON error.
import type { Hono } from 'hono';
import { sha256Hex } from '../../core/crypto/secrets';
import { renderError } from '../../errors';
import { invalidRecoveryToken, RECOVERY_PATH, redeemRecoveryToken } from '../../tenancy/recovery';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { beginAttempt } from './attempts';
import { type PageEnv, tenantOf } from './env';
import { passwordPage } from './password';
import { startSession } from './session';

const MAX_TOKEN_LENGTH = 256;

export function registerRecovery(app: Hono<PageEnv>) {
  app.get(RECOVERY_PATH, async (c) => {
    try {
      const token = c.req.query('token') ?? '';
      const succeeded = await beginAttempt(c, 'recovery');
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidRecoveryToken();
      const w = await writerOf(c, tenantChanged);
      const admin = await redeemRecoveryToken(w, tenantOf(c).id, await sha256Hex(token));
      succeeded();
      await startSession(c, admin);
      // The form at once, not a redirect to it: the link is usually opened from another site (mail, chat),
      // and a redirect would still count as that site's navigation, on which browsers do not send a
      // SameSite=Strict cookie. The token in the address bar is spent; no-referrer keeps it here.
      return passwordPage(c);
    } catch (err) {
      if (c.req.header('accept')?.includes('text/html')) throw err;
      return renderError(err, c);
    }
  });
}
