// Shared by the control-*.test.ts files: calls to the control API as a client makes them.
import { env, exports } from 'cloudflare:workers';
import { createApp } from '../../src/app';
import { unique } from './helpers';

export type ApiAnswer<T = Record<string, unknown>> = { status: number; body: T; headers: Headers };

export type CallOptions = {
  /** The API key to send; the admin key unless given; null sends none. */
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  /** Vars of the worker's to set otherwise for this call (e.g. BASE_DOMAINS), in an app of its own. */
  vars?: Partial<Env> & { PORT?: string };
};

const ctx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

/** A request to the control host; the JSON answer parsed (null for an empty body). */
export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<ApiAnswer<T>> {
  const headers = new Headers(opts.headers);
  const key = opts.key === undefined ? env.ADMIN_API_KEY : opts.key;
  if (key !== null) headers.set('authorization', `Bearer ${key}`);
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const request = new Request(`http://control.localhost${path}`, { method, headers, body });
  const res = opts.vars
    ? await createApp().fetch(request, { ...env, ...opts.vars }, ctx)
    : await exports.default.fetch(request);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export type ErrorBody = {
  error: { code: string; message: string; request_id: string; details?: { path: string; message: string }[] };
};

export function errorCode(answer: ApiAnswer<unknown>): string | undefined {
  return (answer.body as ErrorBody | null)?.error?.code;
}

/** A new instance on the test upstream; its name. */
export async function newInstance(upstream = env.TEST_UPSTREAM_URL): Promise<string> {
  const name = unique('i');
  const res = await api('POST', '/v1/instances', { body: { name, upstreams: [upstream] } });
  if (res.status !== 201) throw new Error(`instance create: ${res.status} ${JSON.stringify(res.body)}`);
  return name;
}

export type TenantJson = {
  id: string;
  name: string;
  slug: string;
  schema_name: string;
  status: string;
  instance: string | null;
  instances: string[];
  domains: string[];
  urls: { service: string; base_domain: string; url: string }[];
  rate_limit: { requests_per_minute: number | null; requests_per_day: number | null } | null;
  auth: { mode: string; public_paths: string[] };
  routes: { methods?: string[]; path: string; scope: string }[];
  limits: { on_gate_error: string };
  settings: Record<string, unknown>;
  created_at: string;
  updated_at: string;
};

/** A new tenant on a new instance (or `instance`), made through the API. */
export async function newTenant(
  fields: Record<string, unknown> = {},
): Promise<{ tenant: TenantJson; install_token: string; install_url: string }> {
  const instance = (fields.instance as string | undefined) ?? (await newInstance());
  const res = await api<{ tenant: TenantJson; install_token: string; install_url: string }>(
    'POST',
    '/v1/tenants',
    {
      body: { name: unique('Tenant '), instance, ...fields },
    },
  );
  if (res.status !== 201) throw new Error(`tenant create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export type KeyJson = {
  id: string;
  tenant_id: string | null;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: string | null;
  revoked_at: string | null;
  rate_limit: { requests_per_minute: number | null; requests_per_day: number | null } | null;
  created_at: string;
  last_used_at: string | null;
};

/** A new key of `tenant` with `scopes`, made by the admin; the key and its secret. */
export async function newKey(tenant: string, scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await api<{ key: KeyJson; secret: string }>('POST', `/v1/tenants/${tenant}/keys`, {
    body: { name: 'test key', scopes, ...extra },
  });
  if (res.status !== 201) throw new Error(`key create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
