// Debian's chromium driven by playwright-core, as the browser tests use it: a persistent context with
// JavaScript off or on, CSP violations collected, and screenshots of a page at 1280 and 390 px, taken only
// after the page is shown to have no horizontal scroll at phone width.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

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
/** Where screenshots go: test/browser/screenshots/ (not committed), or SCREENSHOTS_DIR (docs/screenshots). */
export const SHOTS = path.resolve(
  process.env.SCREENSHOTS_DIR ?? path.join(import.meta.dirname, 'screenshots'),
);
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export type Browser = { context: BrowserContext; cspViolations: string[]; close: () => Promise<void> };

export async function launch(javaScriptEnabled: boolean): Promise<Browser> {
  await mkdir(SHOTS, { recursive: true });
  const profile = await mkdtemp(path.join(tmpdir(), 'gateway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    javaScriptEnabled,
    viewport: DESKTOP,
  });
  const cspViolations: string[] = [];
  context.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return {
    context,
    cspViolations,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Whether the page scrolls sideways, measured in the page at its current width. */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
}

/** `name`-1280.png and `name`-390.png, whole page; fails if the page scrolls sideways at 390 px. */
export async function shots(page: Page, name: string) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  expect(await scrollsSideways(page), `${name} at 390 px`).toBe(false);
  await page.screenshot({ path: path.join(SHOTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** The text of `selector`, trimmed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}
