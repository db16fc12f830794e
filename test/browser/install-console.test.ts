// The install flow and the console in a real browser: Debian's chromium driven by playwright-core against
// `npm run dev`, with JavaScript switched off (the pages must not need it).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type DevServer, hostRequest, startDevServer } from './dev-server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SHOTS = path.resolve(import.meta.dirname, 'screenshots');
const PHONE = { width: 390, height: 844 };

let dev: DevServer | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
const cspViolations: string[] = [];

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  dev = await startDevServer();
  profile = await mkdtemp(path.join(tmpdir(), 'gateway-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    javaScriptEnabled: false,
    viewport: { width: 1100, height: 900 },
  });
}, 240_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  if (profile) await rm(profile, { recursive: true, force: true });
  await dev?.stop();
}, 60_000);

function watch(page: Page) {
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Usage rows for the last days, as the USAGE queue consumer would have written them; their totals. */
async function seedUsage(databaseUrl: string, tenantId: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const totals = { requests: 0, allowed: 0, rate_limited: 0 };
  try {
    for (let offset = 0; offset < 30; offset++) {
      const requests = 400 + Math.round(300 * Math.sin(offset / 3) ** 2) + offset * 10;
      const limited = offset % 7 === 2 ? 120 : offset % 5 === 0 ? 35 : 0;
      await client.query(
        `insert into usage_daily (tenant_id, date, requests, allowed, rate_limited, status_2xx)
         values ($1, (now() at time zone 'utc')::date - $2::int, $3, $4, $5, $4)`,
        [tenantId, offset, requests, requests - limited, limited],
      );
      totals.requests += requests;
      totals.allowed += requests - limited;
      totals.rate_limited += limited;
    }
  } finally {
    await client.end();
  }
  return totals;
}

test('a new tenant installs itself from its own host, signs in to the console, creates a key', async () => {
  if (!dev || !context) throw new Error('setup failed');
  const { port } = dev;
  const created = await hostRequest(port, 'control.localhost', 'POST', '/v1/tenants', {
    headers: { authorization: `Bearer ${dev.adminApiKey}` },
    body: { name: 'Acme Browser', instance: 'instance1' },
  });
  expect(created.status).toBe(201);
  const { tenant, install_token } = JSON.parse(created.body) as {
    tenant: { id: string; slug: string; status: string };
    install_token: string;
  };
  expect(tenant.status).toBe('pending');
  const origin = `http://${tenant.slug}.instance1.localhost:${port}`;

  const page = await context.newPage();
  watch(page);

  // Any path of a pending tenant shows the install form.
  const landing = await page.goto(`${origin}/`);
  expect(landing?.status()).toBe(409);
  await expect(page.locator('h1').textContent()).resolves.toBe('Install Acme Browser');
  await shot(page, '01-install');

  await page.fill('input[name=install_token]', install_token);
  await page.fill('input[name=email]', 'owner@acme.example');
  await page.fill('input[name=password]', 'correct horse battery');
  await page.fill('input[name=password_repeat]', 'correct horse battery');
  await Promise.all([page.waitForURL(`${origin}/_gateway/install`), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Acme Browser is installed');
  const adminKey = (await page.locator('#secret').textContent())?.trim() ?? '';
  expect(adminKey).toMatch(/^gw_[0-9A-Za-z]{38}$/);
  await shot(page, '02-installed');

  // The key shown works on the control API for this tenant.
  const own = await hostRequest(port, 'control.localhost', 'GET', `/v1/tenants/${tenant.slug}`, {
    headers: { authorization: `Bearer ${adminKey}` },
  });
  expect(own.status).toBe(200);
  expect(JSON.parse(own.body).tenant.status).toBe('active');

  await page.click('a[href="/_gateway/console"]');
  await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
  await page.fill('input[name=email]', 'owner@acme.example');
  await page.fill('input[name=password]', 'wrong password');
  await page.click('button[type=submit]');
  await expect(page.locator('[role=alert]').textContent()).resolves.toContain('Wrong email or password.');
  await page.fill('input[name=password]', 'correct horse battery');
  await Promise.all([page.waitForURL(`${origin}/_gateway/console`), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Console');
  await expect(page.locator('#status .badge').textContent()).resolves.toBe('active');
  await expect(page.locator('#status').textContent()).resolves.toContain('instance1');

  // A key with a scope of its own and an expiry.
  await page.fill('#key-name', 'billing service');
  await page.check('input[name=scopes][value="proxy:write"]');
  await page.fill('#key-more-scopes', 'send');
  await page.selectOption('#key-expiry', '90');
  await page.click('#new-key button[type=submit]');
  await expect(page.locator('h1').textContent()).resolves.toBe('Key created');
  const secret = (await page.locator('#secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^gw_[0-9A-Za-z]{38}$/);
  await shot(page, '03-key-created');

  // Seeded before the tenant's first data-plane request, whose usage lands in today's row later.
  const totals = await seedUsage(dev.databaseUrl, tenant.id);
  await page.click('a[href="/_gateway/console#keys"]');
  const row = page.locator('tr', { hasText: 'billing service' });
  await expect(row.locator('td').nth(2).textContent()).resolves.toBe('proxy:read proxy:write send');
  await expect(row.textContent()).resolves.toContain(secret.slice(0, 10));
  await expect(page.content()).resolves.not.toContain(secret);

  // The usage chart: inline SVG, 30 days, the totals of what was stored.
  const chart = page.locator('#usage-chart svg');
  await expect(chart.count()).resolves.toBe(1);
  const points = await page.locator('polyline.series-requests').getAttribute('points');
  expect(points?.split(' ')).toHaveLength(30);
  await expect(page.locator('[data-total=requests]').textContent()).resolves.toBe(String(totals.requests));
  await expect(page.locator('[data-total=rate_limited]').textContent()).resolves.toBe(
    String(totals.rate_limited),
  );
  const box = await chart.boundingBox();
  expect(box?.height).toBeGreaterThan(100);
  await shot(page, '04-console');
  await page.locator('main').screenshot({ path: path.join(SHOTS, 'console-main.png') });

  // It is in force on the data plane at once.
  const forwarded = await hostRequest(port, `${tenant.slug}.instance1.localhost`, 'GET', '/hello', {
    headers: { authorization: `Bearer ${secret}` },
  });
  expect(forwarded.status).toBe(200);

  // Readable on a phone: nothing wider than the screen.
  await page.setViewportSize(PHONE);
  await page.reload();
  const widest = await page
    .locator('main > section')
    .evaluateAll((sections) => Math.max(...sections.map((s) => s.getBoundingClientRect().right)));
  expect(widest).toBeLessThanOrEqual(PHONE.width);
  await shot(page, '05-console-phone');

  // Revoke from the console: the key stops working.
  await page.setViewportSize({ width: 1100, height: 900 });
  await row.locator('button.danger').click();
  await expect(
    page.locator('tr', { hasText: 'billing service' }).locator('.badge').textContent(),
  ).resolves.toBe('revoked');
  const refused = await hostRequest(port, `${tenant.slug}.instance1.localhost`, 'GET', '/hello', {
    headers: { authorization: `Bearer ${secret}` },
  });
  expect(refused.status).toBe(401);

  await page.click('nav button[type=submit]');
  await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
  expect(cspViolations).toEqual([]);
}, 180_000);
