// The long tail's requests: generated tenants (bench/seed.ts), each presenting its keys in turn on varied paths
// and query strings, so no cache of the gateway sees one key or one URL again and again. The same sequence is
// made here (the paced client, autocannon) and in wrk's Lua (bench/load.ts).
import { generatedSecret, INSTANCE } from './seed';

/** 7 and 3: coprime with each other and with the tenant counts in use (1, 25, 1,000), so every combination comes up. */
export const PATHS = [
  '/',
  '/v1/items',
  '/v1/items/4711',
  '/v1/orders/42/lines',
  '/static/app.js',
  '/api/search',
  '/v2/users/123/profile',
];
/** `%d` becomes the request's number modulo 1,000. */
export const QUERIES = ['', '?page=%d&sort=asc', '?q=term%d&limit=20'];

/** Which tenants and how many of their keys: request `n` goes to tenant `tenants[n % T]` with key ⌊n / T⌋ % keys. */
export type Generated = { tenants: number[]; keys: number };

export type GeneratedRequest = { host: string; path: string; authorization: string };

export function generatedRequest(g: Generated, n: number): GeneratedRequest {
  const t = g.tenants[n % g.tenants.length];
  const key = Math.floor(n / g.tenants.length) % g.keys;
  const query = QUERIES[Math.floor(n / PATHS.length) % QUERIES.length].replace('%d', String(n % 1000));
  return {
    host: `b${t}.${INSTANCE}.localhost`,
    path: PATHS[n % PATHS.length] + query,
    authorization: `Bearer ${generatedSecret(t, key)}`,
  };
}

const lua = (text: string) => JSON.stringify(text);

/** The same sequence in wrk's Lua: defines `generated(n)` answering the request bytes. */
export function generatedLua(g: Generated): string {
  // generatedSecret(t, k) is `gw_bench` + t in 24 digits + k in 8.
  if (generatedSecret(12, 3) !== `gw_bench${'12'.padStart(24, '0')}${'3'.padStart(8, '0')}`)
    throw new Error('generatedLua: bench/seed.ts changed the secret format');
  return `
local g_tenants = { ${g.tenants.join(', ')} }
local g_keys = ${g.keys}
local g_paths = { ${PATHS.map(lua).join(', ')} }
local g_queries = { ${QUERIES.map(lua).join(', ')} }
local function generated(n)
  local t = g_tenants[n % #g_tenants + 1]
  local k = math.floor(n / #g_tenants) % g_keys
  local q = string.gsub(g_queries[math.floor(n / #g_paths) % #g_queries + 1], "%%d", tostring(n % 1000))
  return wrk.format("GET", g_paths[n % #g_paths + 1] .. q, {
    Host = "b" .. t .. ${lua(`.${INSTANCE}.localhost`)},
    Authorization = string.format("Bearer gw_bench%024d%08d", t, k),
  })
end
`;
}
