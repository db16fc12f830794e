// The console's key editing and custom domains (issue 19): form posts through src/tenancy/, audited with the
// admin as actor, in force on the data plane at once; recovery links and new passwords (issue 18).
import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { apiKeys, auditLog, domains, recoveryTokens, tenantAdmins } from '../../src/db/schema';
import { advanceClock, now } from './clock';
import {
  clientIp,
  csrfOf,
  getPage,
  type InstalledTenant,
  installedTenant,
  postForm,
  sessionCookie,
  signIn,
} from './console-client';
import { api, type ErrorBody } from './control-client';
import { gatewayFetch, withDb } from './helpers';

async function signedIn(t: InstalledTenant) {
  const cookie = await signIn(t);
  const page = await getPage(t.host, '/_gateway/console', cookie);
  return { cookie, csrf: csrfOf(await page.text()) };
}

async function adminKey(t: InstalledTenant) {
  const [key] = await withDb((db) => db.select().from(apiKeys).where(eq(apiKeys.tenantId, t.tenant.id)));
  return key;
}

async function auditOf(resourceId: string, action: string) {
  return withDb((db) =>
    db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, resourceId), eq(auditLog.action, action))),
  );
}

describe('console: editing a key', () => {
  test('name, scopes, own limit and expiry change in place, audited with the admin; the data plane follows', async () => {
    const t = await installedTenant();
    const { cookie, csrf } = await signedIn(t);
    const key = await adminKey(t);
    const proxied = () =>
      gatewayFetch(`http://${t.host}/hello`, { headers: { authorization: `Bearer ${t.secret}` } });
    expect((await proxied()).status).toBe(403);
    const form = await getPage(t.host, `/_gateway/console/keys/${key.id}`, cookie);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain(`value="${key.name}"`);

    const res = await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['proxy:read', 'tenant:admin', 'send'],
        requests_per_minute: '30',
        requests_per_day: '',
        expiry: '7',
      },
      { cookie },
    );
    expect(res.status).toBe(303);
    const after = await adminKey(t);
    expect(after).toMatchObject({
      name: 'renamed',
      scopes: ['proxy:read', 'tenant:admin', 'send'],
      rateLimit: { requests_per_minute: 30, requests_per_day: null },
      keyHash: key.keyHash,
    });
    // The added proxy:read is in force on the next request.
    expect((await proxied()).status).toBe(200);
    const days = (after.expiresAt!.getTime() - now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    const [audit] = await auditOf(key.id, 'update');
    expect(audit.actor).toBe(admin.id);
    expect(audit.after).toMatchObject({ name: 'renamed', scopes: ['proxy:read', 'tenant:admin', 'send'] });

    // "keep" keeps the expiry; "never" clears it.
    await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['tenant:admin'],
        requests_per_minute: '',
        requests_per_day: '',
        expiry: 'keep',
      },
      { cookie },
    );
    expect((await adminKey(t)).expiresAt).toEqual(after.expiresAt);
    expect((await adminKey(t)).rateLimit).toBeNull();
    await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['tenant:admin'],
        requests_per_minute: '',
        requests_per_day: '',
        expiry: 'never',
      },
      { cookie },
    );
    expect((await adminKey(t)).expiresAt).toBeNull();
  });

  test('a limit above the tenant’s, a bad scope or no name: the form again with the reason (422), nothing changed', async () => {
    const t = await installedTenant({ rate_limit: { requests_per_minute: 100, requests_per_day: null } });
    const { cookie, csrf } = await signedIn(t);
    const key = await adminKey(t);
    const post = (fields: Record<string, string | string[]>) =>
      postForm(
        t.host,
        `/_gateway/console/keys/${key.id}`,
        {
          _csrf: csrf,
          name: 'x',
          scopes: ['tenant:admin'],
          requests_per_minute: '',
          requests_per_day: '',
          expiry: 'keep',
          ...fields,
        },
        { cookie },
      );
    const above = await post({ requests_per_minute: '500' });
    expect(above.status).toBe(422);
    expect(await above.text()).toContain('must not exceed the tenant&#39;s 100');
    expect((await post({ scopes: ['bad scope!'] })).status).toBe(422);
    expect((await post({ name: '  ' })).status).toBe(422);
    expect((await post({ requests_per_minute: '1.5' })).status).toBe(422);
    expect(await adminKey(t)).toEqual(key);
  });
});

describe('console: custom domains', () => {
  test('add (on a placement), listed with its instance, routes to the tenant; remove stops it', async () => {
    const t = await installedTenant();
    const { cookie, csrf } = await signedIn(t);
    const hostname = `api-${crypto.randomUUID().slice(0, 8)}.example.net`;
    const added = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: hostname.toUpperCase(), instance: t.tenant.instance ?? '' },
      { cookie },
    );
    expect(added.status).toBe(303);
    const page = await (await getPage(t.host, '/_gateway/console', cookie)).text();
    expect(page).toContain(`data-hostname="${hostname}"`);
    const [row] = await withDb((db) => db.select().from(domains).where(eq(domains.hostname, hostname)));
    expect(row.tenantId).toBe(t.tenant.id);
    expect(await auditOf(hostname, 'create')).toHaveLength(1);
    // The domain reaches the tenant (its pages answer on it).
    const via = await gatewayFetch(`http://${hostname}/_gateway/console`, { redirect: 'manual' });
    expect(via.status).toBe(200);

    const taken = await postForm(t.host, '/_gateway/console/domains', { _csrf: csrf, hostname }, { cookie });
    expect(taken.status).toBe(409);
    const bad = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: 'x.localhost' },
      { cookie },
    );
    expect(bad.status).toBe(422);
    const elsewhere = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: `b${hostname}`, instance: 'nowhere' },
      { cookie },
    );
    expect(elsewhere.status).toBe(422);

    const removed = await postForm(
      t.host,
      '/_gateway/console/domains/remove',
      { _csrf: csrf, hostname },
      { cookie },
    );
    expect(removed.status).toBe(303);
    expect(await withDb((db) => db.select().from(domains).where(eq(domains.hostname, hostname)))).toEqual([]);
    const gone = await gatewayFetch(`http://${hostname}/_gateway/console`, { redirect: 'manual' });
    expect(gone.status).toBe(404);
  });
});

/** A recovery link for `t`'s admin made with `key` (the admin key unless given): its path on `t`'s host. */
async function recoveryPath(t: InstalledTenant, key?: string) {
  const res = await api<{ recovery_url: string }>('POST', `/v1/tenants/${t.tenant.id}/recovery`, { key });
  expect(res.status).toBe(201);
  const url = new URL(res.body.recovery_url);
  return { path: `${url.pathname}${url.search}`, token: url.searchParams.get('token') ?? '' };
}

async function signedOut(t: InstalledTenant, cookie: string) {
  const html = await (await getPage(t.host, '/_gateway/console', cookie)).text();
  return html.includes('action="/_gateway/console/sign-in"');
}

async function setPassword(t: InstalledTenant, cookie: string, fields: Record<string, string>) {
  const csrf = csrfOf(await (await getPage(t.host, '/_gateway/console/password', cookie)).text());
  return postForm(t.host, '/_gateway/console/password', { _csrf: csrf, ...fields }, { cookie });
}

describe('console: recovery links and passwords', () => {
  test('a link signs the admin in once, says who made it; the new password ends every older session', async () => {
    const t = await installedTenant();
    const copied = await signIn(t);
    const op = await api<{ key: { id: string }; secret: string }>('POST', '/v1/keys', {
      body: { name: 'support desk', scopes: ['admin'] },
    });
    const { path, token } = await recoveryPath(t, op.body.secret);

    // Signed in, and the password form at once (a redirect from a link opened elsewhere would not carry a
    // SameSite=Strict cookie).
    const opened = await getPage(t.host, path);
    expect(opened.status).toBe(200);
    const recovered = sessionCookie(opened);
    expect(recovered).not.toBeNull();
    const [row] = await withDb((db) =>
      db.select().from(recoveryTokens).where(eq(recoveryTokens.tenantId, t.tenant.id)),
    );
    expect(row.usedAt).not.toBeNull();
    for (const page of [
      await opened.text(),
      await (await getPage(t.host, '/_gateway/console/password', recovered!)).text(),
    ]) {
      expect(page).toContain('A recovery link was used');
      expect(page).toContain('support desk');
      expect(page).toContain(op.body.key.id);
      expect(page).toContain('action="/_gateway/console/password"');
      expect(page).not.toContain('name="current_password"');
      expect(page).not.toContain(token);
    }
    expect(await (await getPage(t.host, '/_gateway/console', recovered!)).text()).toContain('support desk');

    // Used once: the same link again is refused, as a page for browsers and JSON for scripts.
    const reused = await getPage(t.host, path);
    expect(reused.status).toBe(403);
    expect(await reused.text()).toContain('invalid_recovery_token');
    const script = await gatewayFetch(`http://${t.host}${path}`, {
      headers: { 'cf-connecting-ip': clientIp() },
    });
    expect(script.status).toBe(403);
    expect(script.headers.get('cache-control')).toBe('no-store');
    expect(((await script.json()) as ErrorBody).error.code).toBe('invalid_recovery_token');

    // The session from before the link must still know the current password.
    const sneaky = await setPassword(t, copied, {
      password: 'taken-over-pw',
      password_repeat: 'taken-over-pw',
    });
    expect(sneaky.status).toBe(403);
    const mismatch = await setPassword(t, recovered!, {
      password: 'new-password-1',
      password_repeat: 'other-one',
    });
    expect(mismatch.status).toBe(422);

    const newPassword = `np-${crypto.randomUUID()}`;
    const set = await setPassword(t, recovered!, { password: newPassword, password_repeat: newPassword });
    expect(set.status).toBe(303);
    const fresh = sessionCookie(set);
    expect(fresh).not.toBeNull();
    expect(await signedOut(t, copied)).toBe(true);
    expect(await signedOut(t, recovered!)).toBe(true);
    expect(await signedOut(t, fresh!)).toBe(false);
    expect((await setPassword(t, fresh!, { password: 'x'.repeat(12) })).status).toBe(403);
    await signIn({ ...t, password: newPassword });
    const oldPassword = await postForm(t.host, '/_gateway/console/sign-in', {
      email: t.email,
      password: t.password,
    });
    expect(oldPassword.status).toBe(403);

    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    const trail = await withDb((db) => db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenant.id)));
    const of = (resource: string, action: string) =>
      trail.filter((a) => a.resource === resource && a.action === action).map((a) => a.actor);
    expect(of('recovery_token', 'create')).toEqual([op.body.key.id]);
    expect(of('recovery_token', 'use')).toEqual([admin.id]);
    expect(of('admin', 'password')).toEqual([admin.id]);
    const text = JSON.stringify(trail);
    for (const secret of [token, row.tokenHash, newPassword, admin.passwordHash])
      expect(text).not.toContain(secret);
  });

  test('expired, unknown or another tenant’s links → 403; a change needs the current password', async () => {
    const t = await installedTenant();
    const other = await installedTenant();
    const foreign = await recoveryPath(other);
    for (const path of [
      foreign.path,
      '/_gateway/console/recover?token=gwr_nothing',
      '/_gateway/console/recover',
    ]) {
      const res = await getPage(t.host, path);
      expect(res.status, path).toBe(403);
      expect(sessionCookie(res)).toBeNull();
    }
    // Not spent by the refusal on the wrong host.
    expect((await getPage(other.host, foreign.path)).status).toBe(200);

    const cookie = await signIn(t);
    const copied = await signIn(t);
    const form = await (await getPage(t.host, '/_gateway/console/password', cookie)).text();
    expect(form).toContain('name="current_password"');
    const wrong = await setPassword(t, cookie, {
      current_password: 'not-the-password',
      password: 'another-password',
      password_repeat: 'another-password',
    });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('The current password is wrong.');
    expect(await signedOut(t, copied)).toBe(false);
    const changed = await setPassword(t, cookie, {
      current_password: t.password,
      password: 'another-password',
      password_repeat: 'another-password',
    });
    expect(changed.status).toBe(303);
    expect(await signedOut(t, copied)).toBe(true);
    expect(await signedOut(t, sessionCookie(changed)!)).toBe(false);

    // Last: the clock moves on past the link's 15 minutes.
    const late = await recoveryPath(t);
    advanceClock(15 * 60_000);
    expect((await getPage(t.host, late.path)).status).toBe(403);
  });
});
