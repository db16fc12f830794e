import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { createApp } from '../../src/app';
import { auditLog, events, installTokens, tenantAdmins, tenants } from '../../src/db/schema';
import { gatewayThrottle, now, throttleWaits } from './clock';
import { clientIp, getPage, installJson, pendingTenant, postForm, shownSecret } from './console-client';
import { api, type ErrorBody, errorCode, type KeyJson, newTenant, type TenantJson } from './control-client';
import { gatewayFetch, unique, withDb } from './helpers';

type Installed = { tenant: TenantJson; key: KeyJson; secret: string };

function admin() {
  return { email: `${unique('admin')}@example.com`, password: `pw-${crypto.randomUUID()}` };
}

async function expectInvalidToken(res: Response) {
  expect(res.status).toBe(403);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_install_token');
}

async function tenantStatus(id: string) {
  const [row] = await withDb((db) =>
    db.select({ status: tenants.status }).from(tenants).where(eq(tenants.id, id)),
  );
  return row.status;
}

describe('the install page', () => {
  test('GET /_gateway/install on a pending tenant is a form, with the security headers', async () => {
    const t = await pendingTenant();
    const res = await getPage(t.host, '/_gateway/install');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    // The one script (the copy button's, an enhancement) runs by the response's nonce only.
    expect(csp).toMatch(/script-src 'nonce-[^']+'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/_gateway/install">');
    for (const field of ['install_token', 'email', 'password', 'password_repeat']) {
      expect(html).toContain(`name="${field}"`);
    }
    expect(html).toContain(t.tenant.name);
    // The one stylesheet and the one script carry the nonce the CSP allows.
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain(`<script nonce="${nonce}">`);
  });

  test('browsers get the install form on any path of a pending tenant (409); API clients get JSON 409', async () => {
    const t = await pendingTenant();
    const browser = await getPage(t.host, '/some/app/path');
    expect(browser.status).toBe(409);
    expect(browser.headers.get('x-frame-options')).toBe('DENY');
    expect(await browser.text()).toContain('action="/_gateway/install"');
    const script = await gatewayFetch(`http://${t.host}/some/app/path`);
    expect(script.status).toBe(409);
    expect(((await script.json()) as ErrorBody).error.code).toBe('tenant_not_installed');
  });

  test('/_gateway/* is never forwarded, whatever the tenant status', async () => {
    const t = await pendingTenant();
    const res = await getPage(t.host, '/_gateway/nothing-here');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('not_found');
  });
});

describe('POST /_gateway/install (JSON)', () => {
  test('a good token activates the tenant, stores the admin hashed and shows a tenant:admin key once', async () => {
    const t = await pendingTenant();
    const who = admin();
    const res = await installJson(t.host, {
      install_token: t.install_token,
      email: who.email.toUpperCase(),
      ...{ password: who.password },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Installed;
    expect(Object.keys(body).sort()).toEqual(['key', 'secret', 'tenant']);
    expect(body.tenant).toMatchObject({ id: t.tenant.id, slug: t.tenant.slug, status: 'active' });
    expect(body.key).toMatchObject({ tenant_id: t.tenant.id, scopes: ['tenant:admin'], revoked_at: null });
    expect(body.secret).toMatch(/^gw_[0-9A-Za-z]{38}$/);
    expect(body.key.prefix).toBe(body.secret.slice(0, 10));

    expect(await tenantStatus(t.tenant.id)).toBe('active');
    const [row] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    expect(row.email).toBe(who.email);
    expect(row.passwordHash).toMatch(/^pbkdf2_sha256\$100000\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(row.passwordHash).not.toContain(who.password);
    const [token] = await withDb((db) =>
      db.select().from(installTokens).where(eq(installTokens.tenantId, t.tenant.id)),
    );
    expect(token.usedAt).not.toBeNull();
    const outbox = await withDb((db) =>
      db
        .select()
        .from(events)
        .where(and(eq(events.tenantId, t.tenant.id), eq(events.type, 'tenant.installed'))),
    );
    expect(outbox).toHaveLength(1);
    expect(outbox[0].payload).toMatchObject({
      type: 'tenant.installed',
      tenant: { id: t.tenant.id, status: 'active' },
    });
    const audit = await withDb((db) =>
      db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, t.tenant.id), eq(auditLog.action, 'install'))),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe(row.id);
    expect(JSON.stringify(audit[0])).not.toContain(body.secret);

    // The tenant now serves traffic instead of the install page.
    const page = await getPage(t.host, '/_gateway/install');
    expect(page.status).toBe(409);
    expect(await page.text()).toContain('already installed');
  });

  test('the key shown works on the control API for this tenant only', async () => {
    const t = await pendingTenant();
    const other = await newTenant();
    const res = await installJson(t.host, { install_token: t.install_token, ...admin() });
    const { secret } = (await res.json()) as Installed;
    const own = await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${t.tenant.slug}`, { key: secret });
    expect(own.status).toBe(200);
    expect(own.body.tenant.id).toBe(t.tenant.id);
    const keys = await api('POST', `/v1/tenants/${t.tenant.id}/keys`, {
      key: secret,
      body: { name: 'made with the install key', scopes: ['tenant:admin'] },
    });
    expect(keys.status).toBe(201);
    const foreign = await api('GET', `/v1/tenants/${other.tenant.slug}`, { key: secret });
    expect(foreign.status).toBe(404);
    expect(errorCode(foreign)).toBe('not_found');
    const foreignKeys = await api('GET', `/v1/tenants/${other.tenant.id}/keys`, { key: secret });
    expect(foreignKeys.status).toBe(404);
    const operatorRoute = await api('GET', '/v1/tenants', { key: secret });
    expect(operatorRoute.status).toBe(403);
  });

  test('a wrong token → 403 invalid_install_token, and the tenant stays pending', async () => {
    const t = await pendingTenant();
    await expectInvalidToken(await installJson(t.host, { install_token: `${t.install_token}x`, ...admin() }));
    // Another tenant's valid token does not install this one either.
    const other = await pendingTenant();
    await expectInvalidToken(await installJson(t.host, { install_token: other.install_token, ...admin() }));
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
    expect(await tenantStatus(other.tenant.id)).toBe('pending');
  });

  test('a used token → 403 invalid_install_token, also once the tenant is installed', async () => {
    const t = await pendingTenant();
    await withDb((db) =>
      db.update(installTokens).set({ usedAt: new Date() }).where(eq(installTokens.tenantId, t.tenant.id)),
    );
    await expectInvalidToken(await installJson(t.host, { install_token: t.install_token, ...admin() }));
    expect(await tenantStatus(t.tenant.id)).toBe('pending');

    const u = await pendingTenant();
    expect((await installJson(u.host, { install_token: u.install_token, ...admin() })).status).toBe(201);
    await expectInvalidToken(await installJson(u.host, { install_token: u.install_token, ...admin() }));
  });

  test('an expired token → 403 invalid_install_token', async () => {
    const t = await pendingTenant();
    await withDb((db) =>
      db
        .update(installTokens)
        .set({ expiresAt: new Date(now() - 1000) })
        .where(eq(installTokens.tenantId, t.tenant.id)),
    );
    await expectInvalidToken(await installJson(t.host, { install_token: t.install_token, ...admin() }));
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
  });

  test('a token replaced by POST /v1/tenants/:tenant/install-token stops working', async () => {
    const t = await pendingTenant();
    const fresh = await api<{ install_token: string }>('POST', `/v1/tenants/${t.tenant.id}/install-token`);
    expect(fresh.status).toBe(201);
    await expectInvalidToken(await installJson(t.host, { install_token: t.install_token, ...admin() }));
    expect((await installJson(t.host, { install_token: fresh.body.install_token, ...admin() })).status).toBe(
      201,
    );
  });

  test('two concurrent installs with one token: exactly one wins', async () => {
    const t = await pendingTenant();
    const attempts = await Promise.all(
      Array.from({ length: 4 }, () => installJson(t.host, { install_token: t.install_token, ...admin() })),
    );
    const statuses = attempts.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403, 403, 403]);
    for (const r of attempts.filter((a) => a.status === 403)) await expectInvalidToken(r);
    const admins = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    expect(admins).toHaveLength(1);
  });

  test('bad input → 422 validation_failed with details; not JSON → 400; other media types → 415', async () => {
    const t = await pendingTenant();
    const short = await installJson(t.host, {
      install_token: t.install_token,
      email: 'not-an-email',
      password: 'short',
    });
    expect(short.status).toBe(422);
    const body = (await short.json()) as ErrorBody;
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details?.map((d) => d.path).sort()).toEqual(['email', 'password']);
    const broken = await gatewayFetch(`http://${t.host}/_gateway/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"install_token":',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as ErrorBody).error.code).toBe('bad_request');
    const xml = await gatewayFetch(`http://${t.host}/_gateway/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', accept: 'application/json' },
      body: '<install/>',
    });
    expect(xml.status).toBe(415);
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
  });
});

describe('POST /_gateway/install (form)', () => {
  test('installs and shows the secret once, with a link to the console', async () => {
    const t = await pendingTenant();
    const who = admin();
    const res = await postForm(t.host, '/_gateway/install', {
      install_token: t.install_token,
      email: who.email,
      password: who.password,
      password_repeat: who.password,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    const secret = shownSecret(html);
    expect(html).toContain('href="/_gateway/console"');
    expect(html).toContain('not shown again');
    const own = await api('GET', `/v1/tenants/${t.tenant.id}`, { key: secret });
    expect(own.status).toBe(200);
  });

  test('a wrong token or a mismatched repeat gets the form back with the reason', async () => {
    const t = await pendingTenant();
    const who = admin();
    const wrong = await postForm(t.host, '/_gateway/install', {
      install_token: 'gwi_wrong',
      email: who.email,
      password: who.password,
      password_repeat: who.password,
    });
    expect(wrong.status).toBe(403);
    const html = await wrong.text();
    expect(html).toContain('wrong, used or expired');
    expect(html).toContain('action="/_gateway/install"');
    expect(html).not.toContain('gwi_wrong');
    const mismatch = await postForm(t.host, '/_gateway/install', {
      install_token: t.install_token,
      email: who.email,
      password: who.password,
      password_repeat: `${who.password}!`,
    });
    expect(mismatch.status).toBe(422);
    expect(await mismatch.text()).toContain('the passwords do not match');
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
  });

  test('a form posted from another site is refused', async () => {
    const t = await pendingTenant();
    const who = admin();
    const fields = { install_token: t.install_token, ...who, password_repeat: who.password };
    const res = await postForm(t.host, '/_gateway/install', fields, {
      headers: { origin: 'http://evil.localhost', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('csrf_rejected');
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
  });
});

describe('brute force', () => {
  test('after five wrong tokens each attempt from that client waits longer; the right token still works', async () => {
    const t = await pendingTenant();
    const ip = clientIp();
    const timed = async (token: string) => {
      const started = Date.now();
      const res = await installJson(t.host, { install_token: token, ...admin() }, ip);
      return { res, ms: Date.now() - started };
    };
    const fast: number[] = [];
    // Each attempt's slot is at least the previous one's plus its wait, and no earlier than the attempt was
    // sent: so from the fifth one's start, the next four take at least the four waits.
    let fifthStart = 0;
    for (let i = 0; i < 5; i++) {
      fifthStart = Date.now();
      const { res, ms } = await timed(`gwi_guess${i}`);
      await expectInvalidToken(res);
      fast.push(ms);
    }
    expect(Math.max(...fast)).toBeLessThan(1000);
    let lastWrongStart = 0;
    for (let i = 5; i < 9; i++) {
      lastWrongStart = Date.now();
      await expectInvalidToken((await timed(`gwi_guess${i}`)).res);
    }
    // 250 + 500 + 1000 + 2000 ms of waiting (scaled in tests), on top of the work of four attempts.
    const policy = gatewayThrottle().client;
    expect(Date.now() - fifthStart).toBeGreaterThanOrEqual(throttleWaits(policy, 5, 4));

    // Another client is not held up by this one.
    const other = Date.now();
    await expectInvalidToken(
      await installJson(t.host, { install_token: 'gwi_other', ...admin() }, clientIp()),
    );
    expect(Date.now() - other).toBeLessThan(1000);

    const right = await timed(t.install_token);
    expect(right.res.status).toBe(201);
    // The slot after the last wrong one, 4 s on (scaled): the right token waits like any other attempt.
    expect(Date.now() - lastWrongStart).toBeGreaterThanOrEqual(throttleWaits(policy, 9, 1));
  }, 60_000);

  test('when the TenantGate cannot be reached the attempt is refused (503), not let through uncounted', async () => {
    const t = await pendingTenant();
    const unreachable = {
      idFromName: (name: string) => env.TENANT_GATE.idFromName(name),
      get: () => ({ authAttempt: () => Promise.reject(new Error('gate down')) }),
    };
    const res = await createApp().fetch(
      new Request(`http://${t.host}/_gateway/install`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ install_token: t.install_token, ...admin() }),
      }),
      { ...env, TENANT_GATE: unreachable },
      { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext,
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as ErrorBody).error.code).toBe('limiter_unavailable');
    expect(await tenantStatus(t.tenant.id)).toBe('pending');
  });
});
