// Tenant A's tenant:admin key against tenant B: every route that takes :tenant or a key id answers 404
// exactly as for a tenant that does not exist, and B is left as it was.
import { eq } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { apiKeys, domains, installTokens, tenants } from '../../src/db/schema';
import { api, type ErrorBody, newKey, newTenant } from './control-client';
import { unique, withDb } from './helpers';

async function stateOf(tenantId: string) {
  return withDb(async (db) => ({
    tenant: await db.select().from(tenants).where(eq(tenants.id, tenantId)),
    keys: await db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)),
    domains: await db.select().from(domains).where(eq(domains.tenantId, tenantId)),
    tokens: await db.select().from(installTokens).where(eq(installTokens.tenantId, tenantId)),
  }));
}

test('a tenant:admin key gets 404 from every route naming another tenant or its keys; nothing changes', async () => {
  const a = await newTenant();
  const bHost = `${unique('b')}.example.com`;
  const b = await newTenant({ domain: bHost });
  const aAdmin = await newKey(a.tenant.id, ['*']);
  const bKey = await newKey(b.tenant.id, ['proxy:read']);
  const before = await stateOf(b.tenant.id);

  const routes: [string, string, unknown?][] = [];
  for (const ref of [b.tenant.id, b.tenant.slug]) {
    routes.push(
      ['GET', `/v1/tenants/${ref}`],
      ['PATCH', `/v1/tenants/${ref}`, { name: 'hijacked' }],
      ['PUT', `/v1/tenants/${ref}`, { name: 'hijacked', instance: b.tenant.instance }],
      ['DELETE', `/v1/tenants/${ref}`],
      ['POST', `/v1/tenants/${ref}/install-token`],
      ['POST', `/v1/tenants/${ref}/recovery`],
      ['GET', `/v1/tenants/${ref}/domains`],
      ['POST', `/v1/tenants/${ref}/domains`, { hostname: `${unique('steal')}.example.com` }],
      ['DELETE', `/v1/tenants/${ref}/domains/${bHost}`],
      ['GET', `/v1/tenants/${ref}/keys`],
      ['POST', `/v1/tenants/${ref}/keys`, { name: 'x', scopes: ['proxy:read'] }],
      ['GET', `/v1/tenants/${ref}/keys/${bKey.key.id}`],
      ['DELETE', `/v1/tenants/${ref}/keys/${bKey.key.id}`],
      ['POST', `/v1/tenants/${ref}/keys/${bKey.key.id}/rotate`],
      ['GET', `/v1/tenants/${ref}/usage`],
    );
  }
  // B's key id under A's own tenant: still not found.
  routes.push(
    ['GET', `/v1/tenants/${a.tenant.id}/keys/${bKey.key.id}`],
    ['DELETE', `/v1/tenants/${a.tenant.id}/keys/${bKey.key.id}`],
    ['POST', `/v1/tenants/${a.tenant.id}/keys/${bKey.key.id}/rotate`],
    ['DELETE', `/v1/tenants/${a.tenant.id}/domains/${bHost}`],
  );
  const missing = unique('nosuchtenant');
  for (const [method, path, body] of routes) {
    const res = await api<ErrorBody>(method, path, { key: aAdmin.secret, body });
    expect(res.status, `${method} ${path}`).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    // Exactly as for a tenant that does not exist.
    const ghost = await api<ErrorBody>(
      method,
      path.replace(b.tenant.id, missing).replace(b.tenant.slug, missing),
      {
        key: aAdmin.secret,
        body,
      },
    );
    if (path.includes(b.tenant.id) || path.includes(b.tenant.slug)) {
      expect(ghost.status).toBe(404);
      expect(ghost.body.error.message).toBe(res.body.error.message);
    }
  }
  expect(await stateOf(b.tenant.id)).toEqual(before);
});
