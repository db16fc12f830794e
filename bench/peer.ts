// The do-it-yourself peer: the gateway a team would write for itself on Workers in an afternoon. Hono, API
// keys looked up in Workers KV by their SHA-256 (remembered in the isolate for 60 s, as `cacheTtl` keeps
// them in the colo on Cloudflare: locally every KV read is a call to Miniflare's storage service, which
// would charge the peer for what Cloudflare's KV cache does not), Cloudflare's rate-limit binding (per
// colo, approximate), a plain fetch to one upstream. No tenancy by host, no scopes, no signature, no usage,
// no exact limits. The bench runs it beside the gateway in the same workerd, so its table shows what those
// cost.
import { Hono } from 'hono';

// The two bindings' shapes as used here (bench/ is type-checked without the Workers types).
type KeyValues = {
  get<T>(key: string, options: { type: 'json'; cacheTtl?: number }): Promise<T | null>;
  put(key: string, value: string): Promise<void>;
};
type RateLimiter = { limit(options: { key: string }): Promise<{ success: boolean }> };
type PeerEnv = {
  Bindings: {
    KEYS: KeyValues;
    LIMITER: RateLimiter;
    UPSTREAM_URL: string;
    /** The bench's own: it loads the keys through POST /__seed with this token. */
    SEED_TOKEN: string;
  };
};
type KeyEntry = { tenant: string };

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  let hex = '';
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

const KEY_TTL_MS = 60_000;
const remembered = new Map<string, { key: KeyEntry | null; until: number }>();

async function lookUp(env: PeerEnv['Bindings'], hash: string): Promise<KeyEntry | null> {
  const now = Date.now();
  const hit = remembered.get(hash);
  if (hit && hit.until > now) return hit.key;
  const key = await env.KEYS.get<KeyEntry>(hash, { type: 'json', cacheTtl: KEY_TTL_MS / 1000 });
  if (remembered.size >= 10_000) remembered.clear();
  remembered.set(hash, { key, until: now + KEY_TTL_MS });
  return key;
}

const app = new Hono<PeerEnv>();

app.post('/__seed', async (c) => {
  if (c.req.header('x-seed-token') !== c.env.SEED_TOKEN) return c.json({ error: 'forbidden' }, 403);
  const keys = await c.req.json<{ secret: string; tenant: string }[]>();
  for (const key of keys) {
    await c.env.KEYS.put(await sha256Hex(key.secret), JSON.stringify({ tenant: key.tenant }));
  }
  return c.json({ seeded: keys.length });
});

app.all('*', async (c) => {
  const authorization = c.req.header('authorization');
  if (!authorization?.startsWith('Bearer ')) return c.json({ error: 'missing API key' }, 401);
  const key = await lookUp(c.env, await sha256Hex(authorization.slice(7)));
  if (!key) return c.json({ error: 'invalid API key' }, 401);
  const { success } = await c.env.LIMITER.limit({ key: key.tenant });
  if (!success) return c.json({ error: 'rate limited' }, 429);
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.delete('authorization');
  headers.set('x-tenant-id', key.tenant);
  return fetch(c.env.UPSTREAM_URL + url.pathname + url.search, {
    method: c.req.method,
    headers,
    body: c.req.raw.body,
    redirect: 'manual',
  });
});

export default app;
