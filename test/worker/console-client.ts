// Shared by the install*.test.ts and console*.test.ts files: the tenant's own pages, as a browser or a
// script reaches them.
import { newTenant, type TenantJson } from './control-client';
import { gatewayFetch, unique } from './helpers';

export type InstalledTenant = {
  tenant: TenantJson;
  host: string;
  email: string;
  password: string;
  /** The tenant:admin key shown at installation. */
  secret: string;
};

/** A pending tenant made through the control API, and the host its pages are served on. */
export async function pendingTenant(fields: Record<string, unknown> = {}) {
  const created = await newTenant(fields);
  return { ...created, host: `${created.tenant.slug}.${created.tenant.instance}.localhost` };
}

/** A different documentation address per call, so no two tests share a client's failure counter. */
export function clientIp(): string {
  const n = crypto.getRandomValues(new Uint8Array(3));
  return `198.${n[0] % 20}.${n[1]}.${n[2]}`;
}

/** A form post as a browser sends it from one of our pages. */
export function postForm(
  host: string,
  path: string,
  fields: Record<string, string | string[]>,
  opts: { cookie?: string; ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'text/html',
    origin: `http://${host}`,
    'cf-connecting-ip': opts.ip ?? clientIp(),
    ...opts.headers,
  };
  if (opts.cookie) headers.cookie = opts.cookie;
  return gatewayFetch(`http://${host}${path}`, { method: 'POST', headers, body, redirect: 'manual' });
}

export function getPage(host: string, path: string, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/html' };
  if (cookie) headers.cookie = cookie;
  return gatewayFetch(`http://${host}${path}`, { headers, redirect: 'manual' });
}

export function installJson(host: string, body: unknown, ip = clientIp()): Promise<Response> {
  return gatewayFetch(`http://${host}/_gateway/install`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
    body: JSON.stringify(body),
  });
}

/** A tenant installed through its JSON install endpoint. */
export async function installedTenant(fields: Record<string, unknown> = {}): Promise<InstalledTenant> {
  const pending = await pendingTenant(fields);
  const email = `${unique('admin')}@example.com`;
  const password = `pw-${crypto.randomUUID()}`;
  const res = await installJson(pending.host, { install_token: pending.install_token, email, password });
  if (res.status !== 201) throw new Error(`install: ${res.status} ${await res.text()}`);
  const { secret } = (await res.json()) as { secret: string };
  return { tenant: pending.tenant, host: pending.host, email, password, secret };
}

/** The `name=value` of the session cookie a sign-in set, or null. */
export function sessionCookie(res: Response): string | null {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('gw_session='));
  return set ? set.split(';')[0] : null;
}

export async function signIn(t: InstalledTenant, ip = clientIp()): Promise<string> {
  const res = await postForm(
    t.host,
    '/_gateway/console/sign-in',
    { email: t.email, password: t.password },
    { ip },
  );
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  return cookie;
}

/** The CSRF token the page put in its forms. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([0-9a-f]{64})"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1];
}

/** The secret a "shown once" page shows. */
export function shownSecret(html: string): string {
  const match = /<code class="secret" id="secret">(gw_[0-9A-Za-z]+)<\/code>/.exec(html);
  if (!match) throw new Error('no secret on the page');
  return match[1];
}
