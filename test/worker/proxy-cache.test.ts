// The tenant snapshot cache (DESIGN.md principle 1): warm requests never touch Postgres, and changes are seen
// on the very next request in the isolate that made them. (Other isolates learn of changes through the
// TenantGate's version, tested with the gate.)
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { createApp } from '../../src/app';
import { apiKeys, domains, tenants } from '../../src/db/schema';
import { setFeedPollerForTests } from '../../src/edge/freshness';
import { invalidateTenant } from '../../src/edge/resolve';
import { gatewayFetch, seedTenant, unique, withDb } from './helpers';

const DATABASE_DOWN = { ...env, DATABASE_URL: 'postgres://nobody:wrong@127.0.0.1:1/none' };

/** An execution context whose background work the test can wait for. */
function executionContext() {
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => pending.push(p),
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  return { ctx, settled: () => Promise.allSettled(pending) };
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe('warm requests', () => {
  test('a warm tenant is served with the database unreachable; a cold one gets 503', async () => {
    const app = createApp();
    const { ctx } = executionContext();
    const warm = await seedTenant();
    const cold = await seedTenant();
    const request = (slug: string, key: string) =>
      new Request(`http://${slug}.localhost/warm`, { headers: { authorization: `Bearer ${key}` } });
    expect((await app.fetch(request(warm.slug, warm.key), env, ctx)).status).toBe(200);

    const coldRes = await app.fetch(request(cold.slug, cold.key), DATABASE_DOWN, ctx);
    expect(coldRes.status).toBe(503);
    expect(await errorCode(coldRes)).toBe('database_unavailable');
    for (let i = 0; i < 3; i++) {
      const res = await app.fetch(request(warm.slug, warm.key), DATABASE_DOWN, ctx);
      expect(res.status).toBe(200);
      expect(((await res.json()) as EchoAnswer).headers['x-tenant-id']).toBe(warm.tenantId);
    }
  });

  test('an unknown host is remembered for a few seconds; a control change forgets it', async () => {
    const t = await seedTenant();
    const host = `${unique('later')}.localhost`;
    const auth = { authorization: `Bearer ${t.key}` };
    // Files alongside write to the same database: a poll naming any of their tenants forgets unknown hosts
    // too (the change may be what makes one known). The feed here names nothing, so only the cache answers.
    setFeedPollerForTests(async (_env, _replica, cursor) => ({
      cursor: cursor ?? 0,
      covered: true,
      entries: [],
    }));
    try {
      expect(await errorCode(await gatewayFetch(`http://${host}/x`, { headers: auth }))).toBe('unknown_host');
      await withDb((db) => db.insert(domains).values({ hostname: host, tenantId: t.tenantId }));
      // Still unknown: the negative answer is cached, the database is not asked again.
      expect(await errorCode(await gatewayFetch(`http://${host}/x`, { headers: auth }))).toBe('unknown_host');
      invalidateTenant(t.tenantId);
      expect((await gatewayFetch(`http://${host}/x`, { headers: auth })).status).toBe(200);
    } finally {
      setFeedPollerForTests();
    }
  });

  test('a burst of requests for a cold tenant is answered', async () => {
    const t = await seedTenant();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        gatewayFetch(`http://${t.slug}.localhost/burst`, { headers: { authorization: `Bearer ${t.key}` } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    await Promise.all(responses.map((r) => r.body?.cancel()));
  });
});

describe('changes take effect', () => {
  test('a database change followed by invalidateTenant is seen on the very next request', async () => {
    const t = await seedTenant();
    const url = `http://${t.slug}.localhost/x`;
    const auth = { authorization: `Bearer ${t.key}` };
    expect((await gatewayFetch(url, { headers: auth })).status).toBe(200);

    await withDb((db) => db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, t.keyId)));
    invalidateTenant(t.tenantId);
    expect(await errorCode(await gatewayFetch(url, { headers: auth }))).toBe('invalid_api_key');

    await withDb((db) => db.update(tenants).set({ status: 'suspended' }).where(eq(tenants.id, t.tenantId)));
    invalidateTenant(t.tenantId);
    expect(await errorCode(await gatewayFetch(url, { headers: auth }))).toBe('tenant_suspended');
  });

  test('revoking a key and suspending a tenant through the control API apply to the next request', async () => {
    const t = await seedTenant();
    const url = `http://${t.slug}.localhost/x`;
    const auth = { authorization: `Bearer ${t.key}` };
    const admin = { authorization: `Bearer ${env.ADMIN_API_KEY}`, 'content-type': 'application/json' };
    expect((await gatewayFetch(url, { headers: auth })).status).toBe(200);

    const revoke = await gatewayFetch(`http://control.localhost/v1/tenants/${t.tenantId}/keys/${t.keyId}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(revoke.status).toBe(204);
    expect(await errorCode(await gatewayFetch(url, { headers: auth }))).toBe('invalid_api_key');

    const created = await gatewayFetch(`http://control.localhost/v1/tenants/${t.tenantId}/keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'second', scopes: ['proxy:read'] }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const second = { authorization: `Bearer ${secret}` };
    expect((await gatewayFetch(url, { headers: second })).status).toBe(200);

    const suspend = await gatewayFetch(`http://control.localhost/v1/tenants/${t.tenantId}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ status: 'suspended' }),
    });
    expect(suspend.status).toBe(200);
    expect(await errorCode(await gatewayFetch(url, { headers: second }))).toBe('tenant_suspended');
  });
});
