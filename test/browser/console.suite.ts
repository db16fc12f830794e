// The install flow and the tenant console in a real browser (Debian's chromium, playwright-core) against
// `npm run dev`: with JavaScript off (the pages must not need it) through install, the console, a known mix of
// traffic in the usage chart, key editing, domains and the phone layout; with JavaScript on, the copy button.
// The dev server runs with a CONTROL_HOST and a SEALING_KEY of the suite's own, as a user may set them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../scripts/lib/ports';
import { type Browser, launch, shots, textOf } from './browser';
import { type DevServer, hostRequest, startDevServer } from './dev-server';

// One suite of the project's one file (./browser.test.ts): its hooks run around its own tests only.
describe('console', () => {
  let dev: DevServer | undefined;
  let noScript: Browser | undefined;
  let withScript: Browser | undefined;
  const CONTROL_HOST = 'ops.localhost';

  beforeAll(async () => {
    dev = await startDevServer({
      env: { CONTROL_HOST, SEALING_KEY: randomBytes(32).toString('base64') },
    });
    [noScript, withScript] = await Promise.all([launch(false), launch(true)]);
  }, 240_000);

  afterAll(async () => {
    await noScript?.close();
    await withScript?.close();
    await dev?.stop();
  }, 60_000);

  function control(method: string, path: string, body?: unknown) {
    if (!dev) throw new Error('setup failed');
    return hostRequest(dev.port, CONTROL_HOST, method, path, {
      headers: { authorization: `Bearer ${dev.adminApiKey}` },
      body,
    });
  }

  /** A pending tenant on instance1 (and on `also`, when given), with its install token. */
  async function pendingTenant(name: string, fields: Record<string, unknown> = {}) {
    const created = await control('POST', '/v1/tenants', { name, instance: 'instance1', ...fields });
    expect(created.status).toBe(201);
    return JSON.parse(created.body) as { tenant: { id: string; slug: string }; install_token: string };
  }

  async function install(page: Page, origin: string, token: string, email: string) {
    await page.goto(`${origin}/_gateway/install`);
    await page.fill('input[name=install_token]', token);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', 'correct horse battery');
    await page.fill('input[name=password_repeat]', 'correct horse battery');
    await Promise.all([page.waitForURL(`${origin}/_gateway/install`), page.click('button[type=submit]')]);
  }

  /** Rows of usage_daily for the 29 days before today, as the USAGE queue consumer would have written them. */
  async function seedEarlierDays(databaseUrl: string, tenantId: string) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (let offset = 1; offset < 30; offset++) {
        const served = 300 + Math.round(200 * Math.sin(offset / 3) ** 2);
        const limited = offset % 7 === 2 ? 80 : 0;
        const errors = offset % 5 === 0 ? 25 : 0;
        await client.query(
          `insert into usage_daily (tenant_id, date, requests, allowed, rate_limited, unauthorized, status_2xx,
           status_4xx, status_5xx, backend_5xx)
         values ($1, (now() at time zone 'utc')::date - $2::int, $3, $4, $5, $6, $7, $8, $9, $9)`,
          [
            tenantId,
            offset,
            served + limited + 10 + errors,
            served + errors,
            limited,
            10,
            served,
            limited + 10,
            errors,
          ],
        );
      }
    } finally {
      await client.end();
    }
  }

  const SERIES_TOTALS = '[data-total]';

  async function chartTotals(page: Page): Promise<Record<string, string>> {
    const entries = await page
      .locator(SERIES_TOTALS)
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-total'), e.textContent]));
    return Object.fromEntries(entries);
  }

  test('npm run dev takes CONTROL_HOST and SEALING_KEY from the environment', async () => {
    if (!dev) throw new Error('setup failed');
    expect(dev.output.join('')).toContain(`control API   http://${CONTROL_HOST}:${dev.port}`);
    expect((await control('GET', '/v1/health')).status).toBe(200);
    // control.localhost is now an ordinary tenant host (of no tenant).
    const old = await hostRequest(dev.port, 'control.localhost', 'GET', '/v1/health');
    expect([old.status, JSON.parse(old.body).error.code]).toEqual([404, 'unknown_host']);
    // The seeded instance's secret is sealed with the given key: the demo tenant is forwarded and signed.
    const demo = await hostRequest(dev.port, 'demo.instance1.localhost', 'GET', '/hello', {
      headers: { authorization: `Bearer ${dev.demoKey}` },
    });
    expect(demo.status).toBe(200);
    expect(JSON.parse(demo.body).headers['x-gateway-signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('install, console, a known mix in the chart, key editing, domains, phone layout, JavaScript off', async () => {
    if (!dev || !noScript) throw new Error('setup failed');
    const { port } = dev;
    // A dead instance beside instance1: requests through it get the gateway's own 502.
    const dead = await control('POST', '/v1/instances', {
      name: 'deadend',
      upstreams: [`http://127.0.0.1:${await freePort()}`],
      timeout_ms: 2000,
    });
    expect(dead.status).toBe(201);
    const { tenant, install_token } = await pendingTenant('Acme Browser', {
      instances: ['instance1', 'deadend'],
      rate_limit: { requests_per_minute: null, requests_per_day: 5 },
    });
    const origin = `http://${tenant.slug}.instance1.localhost:${port}`;
    const page = await noScript.context.newPage();

    // Any path of a pending tenant shows the install form, which says where the token comes from.
    const landing = await page.goto(`${origin}/`);
    expect(landing?.status()).toBe(409);
    await expect(textOf(page, 'h1')).resolves.toBe('Install Acme Browser');
    await expect(textOf(page, 'main > p')).resolves.toContain('install-token');
    await shots(page, 'console-01-install');

    await install(page, origin, install_token, 'owner@acme.example');
    await expect(textOf(page, 'h1')).resolves.toBe('Acme Browser is installed');
    const adminKey = await textOf(page, '#secret');
    expect(adminKey).toMatch(/^gw_[0-9A-Za-z]{38}$/);
    // Without JavaScript the copy button stays hidden; the secret is still there to select.
    await expect(page.locator('button[data-copy]').isHidden()).resolves.toBe(true);
    await shots(page, 'console-02-installed');

    // Signed in right after installing: the console opens without a sign-in.
    await page.click('a[href="/_gateway/console"]');
    await expect(textOf(page, 'h1')).resolves.toBe('Console');
    await expect(textOf(page, '#status .badge')).resolves.toBe('active');

    await page.fill('#key-name', 'billing service');
    await page.check('input[name=scopes][value="proxy:write"]');
    await page.fill('#key-more-scopes', 'send');
    await page.selectOption('#key-expiry', '90');
    await page.click('#new-key button[type=submit]');
    await expect(textOf(page, 'h1')).resolves.toBe('Key created');
    const secret = await textOf(page, '#secret');
    expect(secret).toMatch(/^gw_[0-9A-Za-z]{38}$/);
    await shots(page, 'console-03-key-created');

    // A known mix: 2 served, a backend 404, a backend 502, the gateway's 502 of a dead upstream (5 of the day's
    // budget of 5), 2 without a key, 2 over the budget. With the landing page's 409 above (a request to the
    // pending tenant's host that the gateway answered), 2 gateway errors.
    const hit = async (host: string, path: string, key: string | null) =>
      (await hostRequest(port, host, 'GET', path, key ? { headers: { authorization: `Bearer ${key}` } } : {}))
        .status;
    const home = `${tenant.slug}.instance1.localhost`;
    const statuses = [
      await hit(home, '/hello', secret),
      await hit(home, '/hello', secret),
      await hit(home, '/status/404', secret),
      await hit(home, '/status/502', secret),
      await hit(`${tenant.slug}.deadend.localhost`, '/hello', secret),
      await hit(home, '/hello', null),
      await hit(home, '/hello', null),
      await hit(home, '/hello', secret),
      await hit(home, '/hello', secret),
    ];
    expect(statuses).toEqual([200, 200, 404, 502, 502, 401, 401, 429, 429]);

    // Each in its own series, once the USAGE queue's consumer has written them (within 15 s).
    const expected = {
      allowed: '2',
      rate_limited: '2',
      unauthorized: '2',
      backend_4xx: '1',
      backend_5xx: '1',
      gateway_errors: '2',
    };
    const deadline = Date.now() + 45_000;
    let totals: Record<string, string> = {};
    do {
      await page.goto(`${origin}/_gateway/console`);
      totals = await chartTotals(page);
      if (JSON.stringify(totals) === JSON.stringify(expected)) break;
      await page.waitForTimeout(1_000);
    } while (Date.now() < deadline);
    expect(totals).toEqual(expected);
    // One day of data: a week of bars, today's the last, stacked from six parts.
    await expect(page.locator('#usage-chart g.day').count()).resolves.toBe(7);
    await expect(
      page.locator('#usage-chart g.day').last().locator('rect[data-series]').count(),
    ).resolves.toBe(6);
    const row = page.locator('tr', { hasText: 'billing service' });
    await expect(row.locator('td[data-requests]').textContent()).resolves.toBe('7');
    await expect(row.locator('td[data-label="Last used"]').textContent()).resolves.not.toBe('—');
    await expect(page.content()).resolves.not.toContain(secret);
    await shots(page, 'console-04-one-day');

    // Editing the key: name, scopes, own limit, expiry.
    await row.locator('a.edit').click();
    await expect(textOf(page, 'h1')).resolves.toBe('Edit key billing service');
    await page.fill('#key-name', 'billing v2');
    await page.uncheck('input[name=scopes][value="proxy:write"]');
    await page.fill('#key-more-scopes', 'send reports:read');
    await page.fill('#key-rpm', '10');
    await page.selectOption('#key-expiry', '30');
    await shots(page, 'console-05-key-edit');
    await page.click('#edit-key button[type=submit]');
    const edited = page.locator('tr', { hasText: 'billing v2' });
    await expect(edited.locator('td[data-label=Scopes]').textContent()).resolves.toBe(
      'proxy:read send reports:read',
    );
    await expect(edited.locator('td[data-label=Limit]').textContent()).resolves.toBe('10/min');

    // Custom domains: add one served from the second placement, then remove it.
    const hostname = `api.${tenant.slug}.example.net`;
    await page.fill('#domain-hostname', hostname);
    await page.selectOption('#domain-instance', 'deadend');
    await page.click('#new-domain button[type=submit]');
    const domain = page.locator(`tr[data-hostname="${hostname}"]`);
    await expect(domain.locator('td[data-label=Instance]').textContent()).resolves.toBe('deadend');
    await page.fill('#domain-hostname', 'not a hostname');
    await page.click('#new-domain button[type=submit]');
    await expect(textOf(page, '#domains [role=alert]')).resolves.toContain('hostname');
    await page.goto(`${origin}/_gateway/console#domains`);
    await page.locator(`tr[data-hostname="${hostname}"] button.danger`).click();
    await expect(page.locator(`tr[data-hostname="${hostname}"]`).count()).resolves.toBe(0);

    // Thirty days of data: thirty bars, and still no sideways scroll on a phone.
    await seedEarlierDays(dev.databaseUrl, tenant.id);
    await page.goto(`${origin}/_gateway/console`);
    await expect(page.locator('#usage-chart g.day').count()).resolves.toBe(30);
    await expect(textOf(page, '#usage h2')).resolves.toBe('Usage, last 30 days');
    await shots(page, 'console-06-thirty-days');

    // Revoke from the console: the key stops working.
    await page.locator('tr', { hasText: 'billing v2' }).locator('button.danger').click();
    await expect(page.locator('tr', { hasText: 'billing v2' }).locator('.badge').textContent()).resolves.toBe(
      'revoked',
    );
    expect(await hit(home, '/hello', secret)).toBe(401);

    await page.click('nav button[type=submit]');
    await expect(textOf(page, 'h1')).resolves.toBe('Sign in');
    await shots(page, 'console-00-sign-in');
    expect(noScript.cspViolations).toEqual([]);
  }, 180_000);

  test('a recovery link signs the admin in, says who made it; the new password signs out the older session', async () => {
    if (!dev || !noScript || !withScript) throw new Error('setup failed');
    const { tenant, install_token } = await pendingTenant('Lost Password');
    const origin = `http://${tenant.slug}.instance1.localhost:${dev.port}`;
    // The admin's own session, in one browser: signed in by the install.
    const before = await noScript.context.newPage();
    await install(before, origin, install_token, 'owner@lost.example');
    await before.goto(`${origin}/_gateway/console`);
    await expect(textOf(before, 'h1')).resolves.toBe('Console');

    const made = await control('POST', `/v1/tenants/${tenant.slug}/recovery`);
    expect(made.status).toBe(201);
    const link = new URL((JSON.parse(made.body) as { recovery_url: string }).recovery_url);
    // Opened in another browser, as a link handed over by mail or chat would be: the password form at once,
    // saying the link was used and which operator key made it, and not asking for the lost password.
    const page = await withScript.context.newPage();
    await page.goto(`${origin}${link.pathname}${link.search}`);
    await expect(textOf(page, 'h1')).resolves.toBe('Password');
    await expect(textOf(page, '#recovery h2')).resolves.toBe('A recovery link was used');
    await expect(textOf(page, '#recovery')).resolves.toContain('the operator key');
    await expect(page.locator('input[name=current_password]').count()).resolves.toBe(0);
    await shots(page, 'console-07-recovery');

    await page.fill('input[name=password]', 'a brand new passphrase');
    await page.fill('input[name=password_repeat]', 'a brand new passphrase');
    // The form's own button: the navigation's "Sign out" is a submit button too.
    await page.click('form[action="/_gateway/console/password"] button[type=submit]');
    await expect(textOf(page, 'main .notice')).resolves.toContain('The password is changed');
    await shots(page, 'console-08-password-changed');
    await page.goto(`${origin}/_gateway/console`);
    await expect(textOf(page, 'h1')).resolves.toBe('Console');
    await expect(textOf(page, '#account')).resolves.toContain('used to sign in at');

    // The session from before the new password is signed out; the link works once only.
    await before.goto(`${origin}/_gateway/console`);
    await expect(textOf(before, 'h1')).resolves.toBe('Sign in');
    const again = await before.goto(`${origin}${link.pathname}${link.search}`);
    expect(again?.status()).toBe(403);
    expect(noScript.cspViolations).toEqual([]);
    expect(withScript.cspViolations).toEqual([]);
  }, 120_000);

  test('with JavaScript on, a secret shown once has a copy button that copies it', async () => {
    if (!dev || !withScript) throw new Error('setup failed');
    const { tenant, install_token } = await pendingTenant('Copy Check');
    const origin = `http://${tenant.slug}.instance1.localhost:${dev.port}`;
    await withScript.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await withScript.context.newPage();
    await install(page, origin, install_token, 'owner@copy.example');
    const secret = await textOf(page, '#secret');
    const copy = page.locator('button[data-copy=secret]');
    await expect(copy.isVisible()).resolves.toBe(true);
    await copy.click();
    await page.waitForFunction(() => document.querySelector('button[data-copy]')?.textContent !== 'Copy');
    await expect(copy.textContent()).resolves.toBe('Copied');
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(secret);
    // The same console works with the script on.
    await page.click('a[href="/_gateway/console"]');
    await expect(textOf(page, 'h1')).resolves.toBe('Console');
    expect(withScript.cspViolations).toEqual([]);
  }, 120_000);
});
