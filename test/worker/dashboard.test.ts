// The operator dashboard on the control host (DESIGN.md "Operator dashboard"): sign-in with an operator key,
// tenant search, suspend and activate, a new install token, a recovery link; every action through tenancy,
// audited with the signed-in key; read-only keys look and change nothing; the console's headers and CSRF
// rules.
import { env } from 'cloudflare:workers';
import { and, desc, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { auditLog, tenants } from '../../src/db/schema';
import { csrfOf, getPage, installedTenant, postForm } from './console-client';
import { api, newKey, newTenant } from './control-client';
import { gatewayFetch, withDb } from './helpers';

const HOST = 'control.localhost';

async function signIn(key: string): Promise<string> {
  const res = await postForm(HOST, '/dashboard/sign-in', { key });
  expect(res.status).toBe(303);
  const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_dashboard='));
  if (!set) throw new Error('no dashboard cookie');
  return set.split(';')[0];
}

async function operatorKey(scopes: string[]): Promise<{ id: string; secret: string }> {
  const res = await api<{ key: { id: string }; secret: string }>('POST', '/v1/keys', {
    body: { name: `dash-${crypto.randomUUID().slice(0, 6)}`, scopes },
  });
  expect(res.status).toBe(201);
  return { id: res.body.key.id, secret: res.body.secret };
}

describe('operator dashboard', () => {
  test('/ leads to the sign-in; a wrong key is refused; the admin key gets an 8 h strict cookie', async () => {
    const root = await gatewayFetch(`http://${HOST}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard');
    const page = await getPage(HOST, '/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('action="/dashboard/sign-in"');
    expect((await getPage(HOST, '/dashboard/instances')).status).toBe(401);

    expect((await postForm(HOST, '/dashboard/sign-in', { key: 'adm_wrong' })).status).toBe(403);
    const res = await postForm(HOST, '/dashboard/sign-in', { key: env.ADMIN_API_KEY });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_dashboard='));
    expect(set).toMatch(/; Max-Age=28800/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\/dashboard/);
    // A form from another site is refused.
    const foreign = await postForm(
      HOST,
      '/dashboard/sign-in',
      { key: env.ADMIN_API_KEY },
      {
        headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      },
    );
    expect(foreign.status).toBe(403);
  });

  test('search finds a tenant; suspend and activate go through tenancy, audited with the operator key', async () => {
    const { tenant } = await newTenant();
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'active' } })).status).toBe(200);
    const op = await operatorKey(['admin']);
    const cookie = await signIn(op.secret);
    const list = await (await getPage(HOST, `/dashboard?q=${tenant.slug.slice(0, 12)}`, cookie)).text();
    expect(list).toContain(`data-slug="${tenant.slug}"`);
    const none = await (await getPage(HOST, '/dashboard?q=%25nothing_like_this', cookie)).text();
    expect(none).toContain('No tenant matches.');

    const page = await (await getPage(HOST, `/dashboard/tenants/${tenant.slug}`, cookie)).text();
    expect(page).toContain(`<code>http://${tenant.slug}.${tenant.instance}.localhost</code>`);
    // Its instance on the instances page: services, the capacity bar, draining.
    await api('PATCH', `/v1/instances/${tenant.instance}`, {
      body: { max_tenants: 4, draining: true, services: { gui: { upstreams: [env.TEST_UPSTREAM_URL_B] } } },
    });
    const instances = await (await getPage(HOST, '/dashboard/instances', cookie)).text();
    const start = instances.indexOf(`data-instance="${tenant.instance}"`);
    const row = instances.slice(start, instances.indexOf('</tr>', start));
    for (const part of ['<meter min="0" max="4" value="1"', '1 / 4', 'draining', '<dt>gui</dt>']) {
      expect(row).toContain(part);
    }
    expect(row).toContain(env.TEST_UPSTREAM_URL_B);
    const csrf = csrfOf(page);
    const suspend = await postForm(
      HOST,
      `/dashboard/tenants/${tenant.slug}/status`,
      { _csrf: csrf, status: 'suspended' },
      { cookie },
    );
    expect(suspend.status).toBe(303);
    const status = async () =>
      (await withDb((db) => db.select().from(tenants).where(eq(tenants.id, tenant.id))))[0].status;
    expect(await status()).toBe('suspended');
    const [audit] = await withDb((db) =>
      db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, tenant.id)))
        .orderBy(desc(auditLog.id))
        .limit(1),
    );
    expect(audit.actor).toBe(op.id);
    // The data plane refuses it at once.
    expect((await gatewayFetch(`http://${tenant.slug}.${tenant.instance}.localhost/x`)).status).toBe(403);
    await postForm(
      HOST,
      `/dashboard/tenants/${tenant.slug}/status`,
      { _csrf: csrf, status: 'active' },
      { cookie },
    );
    expect(await status()).toBe('active');

    // Without the session's token the form is refused and nothing changes.
    const forged = await postForm(
      HOST,
      `/dashboard/tenants/${tenant.slug}/status`,
      { _csrf: '0'.repeat(64), status: 'suspended' },
      { cookie },
    );
    expect(forged.status).toBe(403);
    expect(await status()).toBe('active');
  });

  test('a new install token for a pending tenant is shown once and works; a read key may only look', async () => {
    const { tenant } = await newTenant();
    const cookie = await signIn(env.ADMIN_API_KEY);
    const csrf = csrfOf(await (await getPage(HOST, `/dashboard/tenants/${tenant.slug}`, cookie)).text());
    const res = await postForm(
      HOST,
      `/dashboard/tenants/${tenant.slug}/install-token`,
      { _csrf: csrf },
      { cookie },
    );
    expect(res.status).toBe(200);
    const token = /id="token">\s*(gwi_[0-9A-Za-z]+)/.exec(await res.text())?.[1];
    expect(token).toBeDefined();
    const installed = await gatewayFetch(
      `http://${tenant.slug}.${tenant.instance}.localhost/_gateway/install`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          install_token: token,
          email: 'a@example.com',
          password: 'correct horse battery',
        }),
      },
    );
    expect(installed.status).toBe(201);

    const reader = await operatorKey(['read']);
    const readCookie = await signIn(reader.secret);
    const page = await (await getPage(HOST, `/dashboard/tenants/${tenant.slug}`, readCookie)).text();
    expect(page).toContain('may only look');
    const refused = await postForm(
      HOST,
      `/dashboard/tenants/${tenant.slug}/status`,
      { _csrf: csrfOf(page), status: 'suspended' },
      { cookie: readCookie },
    );
    expect(refused.status).toBe(403);
    // A revoked key's session ends with it.
    await api('DELETE', `/v1/keys/${reader.id}`);
    expect((await getPage(HOST, `/dashboard/tenants/${tenant.slug}`, readCookie)).status).toBe(401);
    // A tenant key is no operator key.
    const tenantKey = await newKey(tenant.id, ['tenant:admin']);
    expect((await postForm(HOST, '/dashboard/sign-in', { key: tenantKey.secret })).status).toBe(403);
  });

  test('a recovery link for an installed tenant is shown once, audited with the signed-in key, and works', async () => {
    const t = await installedTenant();
    const op = await operatorKey(['admin']);
    const cookie = await signIn(op.secret);
    const page = await (await getPage(HOST, `/dashboard/tenants/${t.tenant.slug}`, cookie)).text();
    expect(page).toContain(`action="/dashboard/tenants/${t.tenant.slug}/recovery"`);
    const res = await postForm(
      HOST,
      `/dashboard/tenants/${t.tenant.slug}/recovery`,
      { _csrf: csrfOf(page) },
      { cookie },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    const link = /id="token">\s*(http:\/\/[^<\s]+)/.exec(html)?.[1].replaceAll('&amp;', '&');
    expect(link).toBeDefined();
    const url = new URL(link!);
    expect(url.host).toBe(t.host);
    const token = url.searchParams.get('token')!;
    const [audit] = await withDb((db) =>
      db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, t.tenant.id), eq(auditLog.resource, 'recovery_token'))),
    );
    expect(audit.actor).toBe(op.id);
    const opened = await getPage(t.host, `${url.pathname}${url.search}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.getSetCookie().some((c) => c.startsWith('gw_session='))).toBe(true);
    // Shown once: the tenant page, its audit trail included, never again.
    expect(await (await getPage(HOST, `/dashboard/tenants/${t.tenant.slug}`, cookie)).text()).not.toContain(
      token,
    );
  });
});
