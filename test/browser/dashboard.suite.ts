// The operator dashboard in a real browser (Debian's chromium, playwright-core) against `npm start` (the
// deploy bundle in workerd): with JavaScript off, sign-in with the admin key, search, a tenant's page and its
// usage chart, suspend and activate, a new install token; every page at 1280 and 390 px without sideways
// scroll; with JavaScript on, the same sign-in and the copy button of the token.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createFreshDatabase, dropDatabase } from '../../scripts/lib/postgres';
import { type Browser, launch, shots, textOf } from './browser';
import { type DevServer, hostRequest, startDevServer } from './dev-server';

// One suite of the project's one file (./browser.test.ts): its hooks run around its own tests only.
describe('dashboard', () => {
  const database = `gateway_dashboard_${process.pid}_${randomBytes(3).toString('hex')}`;
  let server: DevServer | undefined;
  let noScript: Browser | undefined;
  let withScript: Browser | undefined;

  beforeAll(async () => {
    const databaseUrl = await createFreshDatabase(inject('browserDatabaseUrl'), database);
    server = await startDevServer({ script: 'start.ts', databaseUrl });
    [noScript, withScript] = await Promise.all([launch(false), launch(true)]);
  }, 240_000);

  afterAll(async () => {
    await noScript?.close();
    await withScript?.close();
    await server?.stop();
    await dropDatabase(inject('browserDatabaseUrl'), database);
  }, 60_000);

  function control(method: string, path: string, body?: unknown) {
    if (!server) throw new Error('setup failed');
    return hostRequest(server.port, 'control.localhost', method, path, {
      headers: { authorization: `Bearer ${server.adminApiKey}` },
      body,
    });
  }

  async function tenant(name: string, status?: 'active') {
    const created = await control('POST', '/v1/tenants', { name, instance: 'instance1' });
    expect(created.status).toBe(201);
    const { tenant } = JSON.parse(created.body) as { tenant: { id: string; slug: string } };
    if (status) expect((await control('PATCH', `/v1/tenants/${tenant.id}`, { status })).status).toBe(200);
    return tenant;
  }

  /** Ten days of usage rows ending today: 100 served a day, 10 rate-limited, 5 unauthorized, 2 backend 5xx. */
  async function seedUsage(tenantId: string) {
    const client = new pg.Client({ connectionString: server?.databaseUrl });
    await client.connect();
    try {
      for (let offset = 0; offset < 10; offset++)
        await client.query(
          `insert into usage_daily (tenant_id, date, requests, allowed, rate_limited, unauthorized, status_2xx,
           status_4xx, status_5xx, backend_5xx)
         values ($1, (now() at time zone 'utc')::date - $2::int, 117, 102, 10, 5, 100, 15, 2, 2)`,
          [tenantId, offset],
        );
    } finally {
      await client.end();
    }
  }

  async function signIn(page: Page, origin: string) {
    await page.goto(`${origin}/`);
    await expect(textOf(page, 'h1')).resolves.toBe('Sign in');
    await page.fill('#operator-key', server?.adminApiKey ?? '');
    await Promise.all([page.waitForURL(`${origin}/dashboard`), page.click('button[type=submit]')]);
    await expect(textOf(page, 'h1')).resolves.toBe('Tenants');
  }

  test('sign in, search, open a tenant, read its chart, suspend and activate, a new install token, JavaScript off', async () => {
    if (!server || !noScript) throw new Error('setup failed');
    const origin = `http://control.localhost:${server.port}`;
    const globex = await tenant('Globex Dashboard', 'active');
    await tenant('Initech Dashboard', 'active');
    const pending = await tenant('Pending Dashboard');
    await seedUsage(globex.id);
    const page = await noScript.context.newPage();

    await page.goto(`${origin}/`);
    await page.fill('#operator-key', 'adm_not_a_key');
    await page.click('button[type=submit]');
    await expect(textOf(page, '[role=alert]')).resolves.toContain('not a live operator key');
    await shots(page, 'dashboard-01-sign-in');
    await signIn(page, origin);
    await expect(page.locator('tr[data-slug]').count()).resolves.toBeGreaterThanOrEqual(4);
    await expect(textOf(page, `tr[data-slug=${globex.slug}] td[data-label="Requests today"]`)).resolves.toBe(
      '117',
    );
    await shots(page, 'dashboard-02-tenants');

    await page.fill('#q', 'globex');
    await page.click('#tenant-search button[type=submit]');
    await expect(page.locator('tr[data-slug]').count()).resolves.toBe(1);
    await page.click(`tr[data-slug=${globex.slug}] a`);
    await expect(textOf(page, 'h1')).resolves.toContain('Globex Dashboard');
    // The chart: ten days of bars, the totals of what was stored, one series per outcome.
    await expect(page.locator('#usage-chart g.day').count()).resolves.toBe(10);
    await expect(textOf(page, '[data-total=allowed]')).resolves.toBe('1,000');
    await expect(textOf(page, '[data-total=rate_limited]')).resolves.toBe('100');
    await expect(textOf(page, '[data-total=unauthorized]')).resolves.toBe('50');
    await expect(textOf(page, '[data-total=backend_5xx]')).resolves.toBe('20');
    await shots(page, 'dashboard-03-tenant');

    await page.click('#actions button.danger');
    await expect(textOf(page, 'h1 .badge')).resolves.toBe('suspended');
    const host = `${globex.slug}.instance1.localhost`;
    expect((await hostRequest(server.port, host, 'GET', '/hello')).status).toBe(403);
    await page.click('#actions button[type=submit]');
    await expect(textOf(page, 'h1 .badge')).resolves.toBe('active');
    expect((await hostRequest(server.port, host, 'GET', '/hello')).status).toBe(401);
    // Both changes are in its audit trail, made by the signed-in key.
    await expect(page.locator('#audit tr', { hasText: 'update' }).count()).resolves.toBeGreaterThanOrEqual(2);
    await expect(textOf(page, '#audit td[data-label=Actor]')).resolves.toBe('admin');

    await page.goto(`${origin}/dashboard/tenants/${pending.slug}`);
    await page.click('#actions button[type=submit]');
    const token = await textOf(page, '#token');
    expect(token).toMatch(/^gwi_/);
    await expect(page.locator('button[data-copy]').isHidden()).resolves.toBe(true);
    await shots(page, 'dashboard-04-install-token');
    const installed = await hostRequest(
      server.port,
      `${pending.slug}.instance1.localhost`,
      'POST',
      '/_gateway/install',
      {
        body: { install_token: token, email: 'owner@pending.example', password: 'correct horse battery' },
      },
    );
    expect(installed.status).toBe(201);

    for (const [path, name] of [
      ['/dashboard/instances', 'dashboard-05-instances'],
      ['/dashboard/events', 'dashboard-06-events'],
      ['/dashboard/audit', 'dashboard-07-audit'],
    ]) {
      const answer = await page.goto(`${origin}${path}`);
      expect(answer?.status()).toBe(200);
      await shots(page, name);
    }
    await expect(page.locator('#audit-list tr', { hasText: 'install_token' }).count()).resolves.toBe(1);

    await page.click('nav button[type=submit]');
    await expect(textOf(page, 'h1')).resolves.toBe('Sign in');
    expect((await page.goto(`${origin}/dashboard/instances`))?.status()).toBe(401);
    expect(noScript.cspViolations).toEqual([]);
  }, 180_000);

  test('with JavaScript on: sign-in, and the install token has a working copy button', async () => {
    if (!server || !withScript) throw new Error('setup failed');
    const origin = `http://control.localhost:${server.port}`;
    const pending = await tenant('Copy Dashboard');
    await withScript.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await withScript.context.newPage();
    await signIn(page, origin);
    await page.goto(`${origin}/dashboard/tenants/${pending.slug}`);
    await page.click('#actions button[type=submit]');
    const token = await textOf(page, '#token');
    const copy = page.locator('button[data-copy=token]');
    await copy.click();
    await page.waitForFunction(() => document.querySelector('button[data-copy]')?.textContent !== 'Copy');
    await expect(copy.textContent()).resolves.toBe('Copied');
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(token);
    expect(withScript.cspViolations).toEqual([]);
  }, 120_000);
});
