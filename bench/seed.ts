// Seeds through SQL, like `npm run dev`: one instance on the bench upstream, the measured tenant, a tenant
// with a 100/min limit, one whose key gets revoked, and up to 100,000 more made by generate_series.
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

/** The n-th generated tenant: slug `b{n}`, key `gw_bench…{n}` (deterministic, so the load can be built). */
export function generatedTenant(n: number): { host: string; secret: string } {
  return { host: `b${n}.${INSTANCE}.localhost`, secret: `gw_bench${String(n).padStart(32, '0')}` };
}

/** Tenants `from`..`to` (inclusive), each active on the instance with one key, in three statements. */
export async function seedGeneratedTenants(client: pg.Client, instanceId: string, from: number, to: number) {
  const params = [from, to, instanceId, JSON.stringify(HIGH_LIMIT)];
  await client.query('begin');
  await client.query(
    `insert into tenants (id, name, slug, schema_name, status, home_instance_id, rate_limit)
     select 'ten_bench' || n, 'b' || n, 'b' || n, 't_b' || n, 'active', $3, $4::jsonb
     from generate_series($1::int, $2::int) n`,
    params,
  );
  await client.query(
    `insert into tenant_instances (tenant_id, instance_id)
     select 'ten_bench' || n, $3 from generate_series($1::int, $2::int) n`,
    params.slice(0, 3),
  );
  await client.query(
    `insert into api_keys (id, tenant_id, name, key_hash, prefix, scopes)
     select 'key_bench' || n, 'ten_bench' || n, 'bench', encode(sha256(convert_to(s, 'UTF8')), 'hex'),
            left(s, 10), '["proxy:read"]'::jsonb
     from generate_series($1::int, $2::int) n, lpad(n::text, 32, '0') p, concat('gw_bench', p) s`,
    params.slice(0, 2),
  );
  await client.query('commit');
  // Statistics now, so autovacuum does not run (and count as queries) during a measurement.
  await client.query('vacuum analyze tenants, tenant_instances, api_keys');
}
