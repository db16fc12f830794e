// The battery's Node-side client: raw HTTP to the gateway in its workerd process (node:http, since fetch
// cannot set Host), and tenants seeded through the control API as an operator would seed them.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { inject } from 'vitest';

// Keep-alive, so a test's requests do not each pay for a connection; bounded, so a burst cannot flood workerd.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export type Reply = { status: number; headers: http.IncomingHttpHeaders; body: string };

export type GatewayRequest = {
  host: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
};

/** One request to the gateway; the whole answer as text. Rejects only when the connection fails. */
export function gatewayRequest(opts: GatewayRequest): Promise<Reply> {
  return send(opts).catch((err: Error & { reusedSocket?: boolean }) => {
    // A kept-alive socket the server closed while idle fails before the request reaches it: sent again
    // once on a new socket, as Node's documentation advises and browsers do. Any other failure stands.
    if (err.reusedSocket) return send(opts);
    throw err;
  });
}

function send(opts: GatewayRequest): Promise<Reply> {
  const target = new URL(inject('gatewayUrl'));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { ...opts.headers, host: opts.host },
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', (err: Error & { code?: string }) => {
      const stale = req.reusedSocket && err.code === 'ECONNRESET';
      reject(Object.assign(err, { reusedSocket: stale }));
    });
    req.end(opts.body);
  });
}

export const CONTROL_HOST = 'control.localhost';

/** A control API call with the admin key (or `key`); the JSON answer parsed. */
export async function control<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  key: string = inject('adminApiKey'),
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const reply = await gatewayRequest({
    host: CONTROL_HOST,
    method,
    path,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: reply.status, body: (reply.body ? JSON.parse(reply.body) : null) as T };
}

export async function expectStatus<T>(
  call: Promise<{ status: number; body: T }>,
  status: number,
  what: string,
) {
  const res = await call;
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A short random suffix, so tenants of different files never collide in the shared database. */
export function unique(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

export type RateLimit = { requests_per_minute: number | null; requests_per_day: number | null };

export type BatteryTenant = {
  id: string;
  slug: string;
  instance: string;
  host: string;
  key: string;
  keyId: string;
};

/** A new instance on `upstreams` (the test upstream unless given); its name. */
export async function createInstance(
  opts: { upstreams?: string[]; timeoutMs?: number } = {},
): Promise<string> {
  const name = unique('i');
  await expectStatus(
    control('POST', '/v1/instances', {
      name,
      upstreams: opts.upstreams ?? [inject('upstreamUrl')],
      ...(opts.timeoutMs ? { timeout_ms: opts.timeoutMs } : {}),
    }),
    201,
    'instance create',
  );
  return name;
}

/** An active tenant on `instance` (else on a new instance), with one proxy key. */
export async function createTenant(
  opts: {
    instance?: string;
    upstreams?: string[];
    timeoutMs?: number;
    rateLimit?: RateLimit | null;
    limits?: { on_gate_error: 'closed' | 'open' };
    scopes?: string[];
  } = {},
): Promise<BatteryTenant> {
  const instance = opts.instance ?? (await createInstance(opts));
  const slug = unique('t');
  const created = await expectStatus(
    control<{ tenant: { id: string } }>('POST', '/v1/tenants', {
      name: slug,
      instance,
      ...(opts.rateLimit !== undefined ? { rate_limit: opts.rateLimit } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    }),
    201,
    'tenant create',
  );
  const id = created.tenant.id;
  await expectStatus(control('PATCH', `/v1/tenants/${id}`, { status: 'active' }), 200, 'tenant activate');
  const key = await createKey(id, opts.scopes);
  return { id, slug, instance, host: `${slug}.localhost`, key: key.secret, keyId: key.id };
}

/** A new key of the tenant: its id and its secret. */
export async function createKey(tenantId: string, scopes = ['proxy:read', 'proxy:write']) {
  const body = await expectStatus(
    control<{ key: { id: string }; secret: string }>('POST', `/v1/tenants/${tenantId}/keys`, {
      name: unique('k'),
      scopes,
    }),
    201,
    'key create',
  );
  return { id: body.key.id, secret: body.secret };
}

/** The workerd process's resident memory, in bytes (Linux /proc). */
export async function workerdRss(pid: number = inject('workerdPid')): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

export function closeConnections() {
  agent.destroy();
}
