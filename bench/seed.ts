// Seeds through SQL, like `npm run dev`: one instance on the bench upstream, the measured tenant, a tenant
// with a 100/min limit, one whose key gets revoked, and the long tail's generated tenants (bench/tail.ts): up
// to 100,000 made by generate_series, the ones in use with 100 keys each.
import type pg from 'pg';
import { newId } from '../src/core/crypto/ids';
import { seal } from '../src/core/crypto/seal';
import { generateSecret, keyPrefix, sha256Hex } from '../src/core/crypto/secrets';

/** So high that it never triggers in a run, but the tenant is limited: the limiter's path is taken. */
export const HIGH_LIMIT = { requests_per_minute: 1_000_000_000, requests_per_day: null };
export const INSTANCE = 'bench';

export type SeededTenant = { id: string; slug: string; host: string; keyId: string; secret: string };

export async function seedInstance(
  client: pg.Client,
  upstreamUrl: string,
  sealingKey: string,
): Promise<string> {
  const id = newId('ins');
  await client.query(
    'insert into instances (id, name, upstreams, signing_secret_sealed) values ($1, $2, $3, $4)',
    [id, INSTANCE, JSON.stringify([upstreamUrl]), await seal(generateSecret('whsec_', 40), sealingKey)],
  );
  return id;
}

export async function seedTenant(
  client: pg.Client,
  instanceId: string,
  slug: string,
  rateLimit: { requests_per_minute: number | null; requests_per_day: number | null },
): Promise<SeededTenant> {
  const id = newId('ten');
  await client.query(
    `insert into tenants (id, name, slug, schema_name, status, home_instance_id, rate_limit)
     values ($1, $2, $2, 't_' || $2, 'active', $3, $4)`,
    [id, slug, instanceId, JSON.stringify(rateLimit)],
  );
  await client.query('insert into tenant_instances (tenant_id, instance_id) values ($1, $2)', [
    id,
    instanceId,
  ]);
  const secret = generateSecret('gw_', 40);
  const keyId = newId('key');
  await client.query(
    `insert into api_keys (id, tenant_id, name, key_hash, prefix, scopes) values ($1, $2, 'bench', $3, $4, $5)`,
    [keyId, id, await sha256Hex(secret), keyPrefix(secret), JSON.stringify(['proxy:read'])],
  );
  return { id, slug, host: `${slug}.${INSTANCE}.localhost`, keyId, secret };
}

export type RateLimitConfig = { requests_per_minute: number | null; requests_per_day: number | null };

/** Keys the long-tail load presents per tenant in use, in turn; key number KEYS_PER_TENANT is for revocation. */
export const KEYS_PER_TENANT = 100;

/** Tenant `n`'s `j`-th key: `gw_bench` + n in 24 digits + j in 8 (deterministic, so wrk's script can make it). */
/**
 * Keys without the checksum (40 characters, not the checksummed shape's 41), which the gateway accepts as it
 * does keys made before the checksum: the same secret is made in SQL (insertKeys) and in wrk's Lua
 * (bench/requests.ts), neither of which computes a CRC-32. With the gateway's per-snapshot secret cache, a
 * warm key's checksum would not be checked again anyway.
 */
export function generatedSecret(n: number, j: number): string {
  return `gw_bench${String(n).padStart(24, '0')}${String(j).padStart(8, '0')}`;
}

/** The n-th generated tenant: slug `b{n}`, id `ten_bench{n}`, keys `key_bench{n}_{j}`. */
export function generatedTenant(n: number, key = 0) {
  return {
    id: `ten_bench${n}`,
    host: `b${n}.${INSTANCE}.localhost`,
    keyId: `key_bench${n}_${key}`,
    secret: generatedSecret(n, key),
  };
}

/**
 * Tenants `from`..`to` (inclusive), each active on the instance with its key 0, unlimited: one transaction of
 * three set-based statements (100,000 tenants in a few seconds).
 */
export async function seedGeneratedTenants(client: pg.Client, instanceId: string, from: number, to: number) {
  await client.query('begin');
  await fastBulk(client);
  await client.query(
    `insert into tenants (id, name, slug, schema_name, status, home_instance_id, rate_limit)
     select 'ten_bench' || n, 'b' || n, 'b' || n, 't_b' || n, 'active', $3, null
     from generate_series($1::int, $2::int) n`,
    [from, to, instanceId],
  );
  await client.query(
    `insert into tenant_instances (tenant_id, instance_id)
     select 'ten_bench' || n, $3 from generate_series($1::int, $2::int) n`,
    [from, to, instanceId],
  );
  await insertKeys(client, 'select n, 0 as j from generate_series($1::int, $2::int) n', [from, to]);
  await client.query('commit');
}

/** Keys `fromKey`..`toKey` of each of `tenants` (generated ones), and `rateLimit` on those tenants. */
export async function configureTenantsInUse(
  client: pg.Client,
  tenants: number[],
  keys: { fromKey: number; toKey: number },
  rateLimit: RateLimitConfig | null,
) {
  if (tenants.length === 0) return;
  await client.query('begin');
  await fastBulk(client);
  if (rateLimit)
    await client.query(
      `update tenants set rate_limit = $2::jsonb where id in (select 'ten_bench' || n from unnest($1::int[]) n)`,
      [tenants, JSON.stringify(rateLimit)],
    );
  if (keys.toKey >= keys.fromKey)
    await insertKeys(client, 'select n, j from unnest($1::int[]) n, generate_series($2::int, $3::int) j', [
      tenants,
      keys.fromKey,
      keys.toKey,
    ]);
  await client.query('commit');
}

/** Statistics once seeding is done, so autovacuum does not run (and count as queries) during a measurement. */
export async function analyzeTenants(client: pg.Client) {
  await client.query('vacuum analyze tenants, tenant_instances, api_keys');
}

/** Inserts the keys `(n, j)` that `pairs` selects, hashed as the gateway hashes presented keys (SHA-256 hex). */
async function insertKeys(client: pg.Client, pairs: string, params: unknown[]) {
  await client.query(
    `insert into api_keys (id, tenant_id, name, key_hash, prefix, scopes)
     select 'key_bench' || p.n || '_' || p.j, 'ten_bench' || p.n, 'bench',
            encode(sha256(convert_to(s, 'UTF8')), 'hex'), left(s, 10), '["proxy:read"]'::jsonb
     from (${pairs}) p, concat('gw_bench', lpad(p.n::text, 24, '0'), lpad(p.j::text, 8, '0')) s`,
    params,
  );
}

/** A bulk load's settings, for the transaction: no wait for the WAL flush at commit. */
async function fastBulk(client: pg.Client) {
  await client.query('set local synchronous_commit = off');
}
