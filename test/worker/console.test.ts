import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { signSession } from '../../src/core/crypto/session';
import { apiKeys, auditLog, tenantAdmins } from '../../src/db/schema';
import { usageDaily } from '../../src/db/usage-schema';
import { gatewayThrottle, now, throttleWaits } from './clock';
import {
  clientIp,
  csrfOf,
  getPage,
  type InstalledTenant,
  installedTenant,
  postForm,
  sessionCookie,
  shownSecret,
  signIn,
} from './console-client';
import { gatewayFetch, withDb } from './helpers';

async function consoleHtml(t: InstalledTenant, cookie: string) {
  const res = await getPage(t.host, '/_gateway/console', cookie);
  expect(res.status).toBe(200);
  return res.text();
}

async function keysOf(tenantId: string) {
  return withDb((db) => db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)));
}

/** A proxied request to the tenant's instance with `secret`. */
function proxied(t: InstalledTenant, secret: string) {
  return gatewayFetch(`http://${t.host}/hello`, { headers: { authorization: `Bearer ${secret}` } });
}

describe('sign-in', () => {
  test('the console asks for a sign-in; the admin made at installation gets a session cookie', async () => {
    const t = await installedTenant();
    const page = await getPage(t.host, '/_gateway/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('action="/_gateway/console/sign-in"');
    expect(html).not.toContain('name="_csrf"');

    const res = await postForm(t.host, '/_gateway/console/sign-in', { email: t.email, password: t.password });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/_gateway/console');
    const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_session='));
    expect(set).toBeDefined();
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\/_gateway/);
    expect(set).toMatch(/; Max-Age=28800/);
    // Plain http is allowed for *.localhost only.
    expect(set).not.toMatch(/; Secure/);
    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    expect(admin.lastLoginAt).not.toBeNull();

    const signedIn = await consoleHtml(t, sessionCookie(res)!);
    expect(signedIn).toContain(t.email);
    expect(signedIn).toContain('<span class="badge active">active</span>');
    expect(signedIn).toContain(t.tenant.instance!);
    expect(signedIn).toContain('name="_csrf"');
  });

  test('on any other host the session cookie is Secure', async () => {
    const domain = `console-${crypto.randomUUID().slice(0, 8)}.example.com`;
    const t = await installedTenant({ domain });
    const res = await postForm(domain, '/_gateway/console/sign-in', { email: t.email, password: t.password });
    expect(res.status).toBe(303);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_session='));
    expect(set).toMatch(/; Secure/);
  });

  test('a wrong password or unknown email is refused with the form again', async () => {
    const t = await installedTenant();
    for (const fields of [
      { email: t.email, password: `${t.password}x` },
      { email: `nobody-${t.email}`, password: t.password },
    ]) {
      const res = await postForm(t.host, '/_gateway/console/sign-in', fields);
      expect(res.status).toBe(403);
      expect(sessionCookie(res)).toBeNull();
      expect(await res.text()).toContain('Wrong email or password.');
    }
  });

  test('another tenant admin cannot sign in here, and a session of one tenant is no session on another', async () => {
    const a = await installedTenant();
    const b = await installedTenant();
    const res = await postForm(b.host, '/_gateway/console/sign-in', { email: a.email, password: a.password });
    expect(res.status).toBe(403);
    const cookie = await signIn(a);
    const html = await consoleHtml(b, cookie);
    expect(html).toContain('action="/_gateway/console/sign-in"');
  });

  test('repeated wrong passwords from one client are slowed down', async () => {
    const t = await installedTenant();
    const ip = clientIp();
    const wrong = () =>
      postForm(t.host, '/_gateway/console/sign-in', { email: t.email, password: 'wrong-password' }, { ip });
    const firstStart = Date.now();
    // Each attempt's slot is at least the previous one's plus its wait, and no earlier than it was sent.
    let fifthStart = 0;
    for (let i = 0; i < 5; i++) {
      fifthStart = Date.now();
      expect((await wrong()).status).toBe(403);
    }
    const firstFive = Date.now() - firstStart;
    const slowStart = Date.now();
    for (let i = 0; i < 5; i++) expect((await wrong()).status).toBe(403);
    const nextFive = Date.now() - slowStart;
    // 250 + 500 + 1000 + 2000 + 4000 ms of waiting (a quarter in tests) on top of the same work, which here
    // is a PBKDF2 hash per attempt: five attempts, so the waits outweigh the work even on a loaded machine.
    // Together they take at least their waits, and each takes longer than one of the first five.
    expect(Date.now() - fifthStart).toBeGreaterThanOrEqual(throttleWaits(gatewayThrottle().client, 5, 5));
    expect(nextFive).toBeGreaterThan(firstFive);
    const right = await postForm(
      t.host,
      '/_gateway/console/sign-in',
      { email: t.email, password: t.password },
      { ip },
    );
    expect(right.status).toBe(303);
  }, 60_000);
});

describe('sessions', () => {
  test('an expired or altered session is no session: the sign-in page, and posts change nothing', async () => {
    const t = await installedTenant();
    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    const session = { tenantId: t.tenant.id, adminId: admin.id, epoch: admin.sessionEpoch };
    const expired = await signSession({ ...session, expiresAt: now() - 1000 }, env.SEALING_KEY);
    const valid = await signSession({ ...session, expiresAt: now() + 60_000 }, env.SEALING_KEY);
    const forged = valid.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
    expect(await consoleHtml(t, `gw_session=${valid}`)).toContain('name="_csrf"');
    for (const token of [expired, forged]) {
      const html = await consoleHtml(t, `gw_session=${token}`);
      expect(html).toContain('action="/_gateway/console/sign-in"');
      expect(html).not.toContain('name="_csrf"');
    }
    const before = await keysOf(t.tenant.id);
    const csrf = csrfOf(await consoleHtml(t, `gw_session=${valid}`));
    const post = await postForm(
      t.host,
      '/_gateway/console/keys',
      { _csrf: csrf, name: 'late', scopes: 'proxy:read', expires_in_days: '' },
      { cookie: `gw_session=${expired}` },
    );
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toBe('/_gateway/console');
    expect(await keysOf(t.tenant.id)).toHaveLength(before.length);
  });

  test('sign-out clears the cookie', async () => {
    const t = await installedTenant();
    const cookie = await signIn(t);
    const csrf = csrfOf(await consoleHtml(t, cookie));
    const res = await postForm(t.host, '/_gateway/console/sign-out', { _csrf: csrf }, { cookie });
    expect(res.status).toBe(303);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_session='));
    expect(set).toMatch(/^gw_session=;/);
    expect(set).toMatch(/Max-Age=0/);
    expect(set).toMatch(/Path=\/_gateway/);
  });
});

describe('CSRF', () => {
  test('a console form without the token, with another session’s token, or from another site is refused', async () => {
    const t = await installedTenant();
    const cookie = await signIn(t);
    const csrf = csrfOf(await consoleHtml(t, cookie));
    const otherCsrf = csrfOf(await consoleHtml(t, await signIn(t)));
    expect(otherCsrf).not.toBe(csrf);
    const fields = { name: 'forged', scopes: 'proxy:read', expires_in_days: '' };
    const attempts = [
      postForm(t.host, '/_gateway/console/keys', fields, { cookie }),
      postForm(t.host, '/_gateway/console/keys', { ...fields, _csrf: otherCsrf }, { cookie }),
      postForm(
        t.host,
        '/_gateway/console/keys',
        { ...fields, _csrf: csrf },
        {
          cookie,
          headers: { origin: 'http://evil.localhost' },
        },
      ),
      postForm(
        t.host,
        '/_gateway/console/keys',
        { ...fields, _csrf: csrf },
        {
          cookie,
          headers: { origin: 'null', 'sec-fetch-site': 'cross-site' },
        },
      ),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('csrf_rejected');
    }
    expect((await keysOf(t.tenant.id)).map((k) => k.name)).not.toContain('forged');

    // The same form from the page itself goes through (browsers send Origin: null under no-referrer).
    const ok = await postForm(
      t.host,
      '/_gateway/console/keys',
      { ...fields, _csrf: csrf },
      {
        cookie,
        headers: { origin: 'null', 'sec-fetch-site': 'same-origin' },
      },
    );
    expect(ok.status).toBe(201);
  });
});

describe('keys', () => {
  test('create shows the secret once; it works on the data plane at once; revoke stops it at once', async () => {
    const t = await installedTenant();
    const cookie = await signIn(t);
    const csrf = csrfOf(await consoleHtml(t, cookie));
    const res = await postForm(
      t.host,
      '/_gateway/console/keys',
      {
        _csrf: csrf,
        name: 'billing service',
        scopes: ['proxy:read', 'send reports:read'],
        expires_in_days: '30',
      },
      { cookie },
    );
    expect(res.status).toBe(201);
    const secret = shownSecret(await res.text());
    const [key] = (await keysOf(t.tenant.id)).filter((k) => k.name === 'billing service');
    expect(key.scopes).toEqual(['proxy:read', 'send', 'reports:read']);
    const days = (key.expiresAt!.getTime() - now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const [audit] = await withDb((db) =>
      db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.resourceId, key.id), eq(auditLog.action, 'create'))),
    );
    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    expect(audit.actor).toBe(admin.id);

    const forwarded = await proxied(t, secret);
    expect(forwarded.status).toBe(200);
    expect(((await forwarded.json()) as EchoAnswer).headers['x-gateway-key-id']).toBe(key.id);

    // Listed by prefix; the secret itself is never shown again.
    const listed = await consoleHtml(t, cookie);
    expect(listed).toContain(`data-key-id="${key.id}"`);
    expect(listed).toContain(key.prefix);
    expect(listed).not.toContain(secret);

    const revoke = await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}/revoke`,
      { _csrf: csrf },
      { cookie },
    );
    expect(revoke.status).toBe(303);
    expect(revoke.headers.get('location')).toBe('/_gateway/console#keys');
    const refused = await proxied(t, secret);
    expect(refused.status).toBe(401);
    const [revoked] = (await keysOf(t.tenant.id)).filter((k) => k.id === key.id);
    expect(revoked.revokedAt).not.toBeNull();
    expect(await consoleHtml(t, cookie)).toMatch(new RegExp(`data-key-id="${key.id}"[\\s\\S]*?revoked`));
  });

  test('rotate shows a new secret; the old one stops working at once', async () => {
    const t = await installedTenant();
    const cookie = await signIn(t);
    const csrf = csrfOf(await consoleHtml(t, cookie));
    const created = await postForm(
      t.host,
      '/_gateway/console/keys',
      { _csrf: csrf, name: 'rotating', scopes: 'proxy:read', expires_in_days: '' },
      { cookie },
    );
    const oldSecret = shownSecret(await created.text());
    const [key] = (await keysOf(t.tenant.id)).filter((k) => k.name === 'rotating');
    expect((await proxied(t, oldSecret)).status).toBe(200);
    const rotated = await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}/rotate`,
      { _csrf: csrf },
      { cookie },
    );
    expect(rotated.status).toBe(200);
    const newSecret = shownSecret(await rotated.text());
    expect(newSecret).not.toBe(oldSecret);
    expect((await proxied(t, oldSecret)).status).toBe(401);
    expect((await proxied(t, newSecret)).status).toBe(200);
  });

  test('bad input gets the form back (422); another tenant’s key is not found (404)', async () => {
    const t = await installedTenant();
    const other = await installedTenant();
    const cookie = await signIn(t);
    const csrf = csrfOf(await consoleHtml(t, cookie));
    const bad = await postForm(
      t.host,
      '/_gateway/console/keys',
      { _csrf: csrf, name: '', scopes: 'Not A Scope!', expires_in_days: '12' },
      { cookie },
    );
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('give the key a name');
    const [foreign] = await keysOf(other.tenant.id);
    const res = await postForm(
      t.host,
      `/_gateway/console/keys/${foreign.id}/revoke`,
      { _csrf: csrf },
      { cookie },
    );
    expect(res.status).toBe(404);
    expect((await keysOf(other.tenant.id))[0].revokedAt).toBeNull();
  });
});

test('the usage chart: one series per outcome, from the first day with traffic, every request in one', async () => {
  const t = await installedTenant();
  const day = (offset: number) => new Date(now() - offset * 86_400_000).toISOString().slice(0, 10);
  await withDb((db) =>
    db.insert(usageDaily).values([
      // 100 served, 20 rate-limited, 7 unauthorized, 5 backend 404s, 3 backend 503s, 4 dead-upstream 502s.
      {
        tenantId: t.tenant.id,
        date: day(0),
        requests: 139,
        allowed: 112,
        rateLimited: 20,
        unauthorized: 7,
        status2xx: 100,
        status4xx: 32,
        status5xx: 7,
        backend4xx: 5,
        backend5xx: 3,
      },
      { tenantId: t.tenant.id, date: day(3), requests: 30, allowed: 30, status2xx: 30 },
      // Outside the window: not drawn, not counted.
      { tenantId: t.tenant.id, date: day(40), requests: 999, allowed: 999, status2xx: 999 },
    ]),
  );
  const html = await consoleHtml(t, await signIn(t));
  expect(html).toContain('<svg');
  const totals = Object.fromEntries(
    [...html.matchAll(/<strong data-total="(\w+)">([\d,]+)<\/strong>/g)].map((m) => [m[1], m[2]]),
  );
  expect(totals).toEqual({
    allowed: '130',
    rate_limited: '20',
    unauthorized: '7',
    backend_4xx: '5',
    backend_5xx: '3',
    gateway_errors: '4',
  });
  // Four days of data are a week, not a sliver of thirty.
  expect(html.match(/<g class="day"/g)).toHaveLength(7);
  expect(html).toContain(`Usage, since ${day(6)}`);
  expect(html).toContain(
    `<title>${day(0)}: 139 requests; 100 Allowed, 20 Rate-limited, 7 Unauthorized, 5 Backend 4xx, 3 Backend 5xx, 4 Gateway errors</title>`,
  );
});
