import { env, exports } from 'cloudflare:workers';
import { newId } from '../../src/core/crypto/ids';
import { seal } from '../../src/core/crypto/seal';
import { generateSecret, keyPrefix, sha256Hex } from '../../src/core/crypto/secrets';
import { connectDatabase, type Database } from '../../src/db/client';
import { apiKeys, instances, tenantInstances, tenants } from '../../src/db/schema';

/** Runs `work` on a connection of the worker's own database driver (Neon, through the bridge). */
export async function withDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const conn = await connectDatabase(env);
  try {
    return await work(conn.db);
  } finally {
    await conn.close();
  }
}

/** A short random suffix, so tests sharing one database never collide. */
export function unique(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

export type SeededTenant = {
  tenantId: string;
  slug: string;
  instance: string;
  signingSecret: string;
  key: string;
  keyId: string;
};

/** An active tenant placed on a new instance whose upstream is `upstreams`, with one key. */
export async function seedTenant(
  opts: { upstreams?: string[]; scopes?: string[]; status?: 'active' | 'pending' | 'suspended' } = {},
): Promise<SeededTenant> {
  const slug = unique('t');
  const instance = unique('i');
  const signingSecret = generateSecret('whsec_', 40);
  const key = generateSecret('gw_', 40);
  const instanceId = newId('ins');
  const tenantId = newId('ten');
  const keyId = newId('key');
  await withDb(async (db) => {
    await db.insert(instances).values({
      id: instanceId,
      name: instance,
      upstreams: opts.upstreams ?? [env.TEST_UPSTREAM_URL],
      signingSecretSealed: await seal(signingSecret, env.SEALING_KEY),
    });
    await db.insert(tenants).values({
      id: tenantId,
      name: slug,
      slug,
      schemaName: `t_${slug}`,
      status: opts.status ?? 'active',
      homeInstanceId: instanceId,
    });
    await db.insert(tenantInstances).values({ tenantId, instanceId });
    await db.insert(apiKeys).values({
      id: keyId,
      tenantId,
      name: 'test',
      keyHash: await sha256Hex(key),
      prefix: keyPrefix(key),
      scopes: opts.scopes ?? ['proxy:read', 'proxy:write'],
    });
  });
  return { tenantId, slug, instance, signingSecret, key, keyId };
}

/** A request to the worker as a client would send it (the URL carries the host). */
export function gatewayFetch(url: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}

/**
 * The same request through the gateway's second isolate (./isolates, test/setup/gateway-b.ts): module state
 * of its own (snapshots, wallets, clock), the same Durable Objects, queues and database as gatewayFetch's.
 */
export function gatewayFetchB(url: string, init?: RequestInit): Promise<Response> {
  return env.GATEWAY_B.fetch(new Request(url, init));
}
