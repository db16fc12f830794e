// Battery, object-level authorisation on the control API, swept over every operation its OpenAPI document
// lists: a tenant's own key never reaches another tenant's objects, nor the operator's.
import { eq, inArray } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { apiKeys, auditLog, domains, installTokens, instances, tenants } from '../../../src/db/schema';
import { api, type ErrorBody, newInstance, newKey, newTenant } from '../../worker/control-client';
import { unique, withDb } from '../../worker/helpers';
import { controlOperations, fillPath, type SweptOperation } from './openapi-sweep';

async function tenantState(tenantId: string) {
  return withDb(async (db) => ({
    tenant: await db.select().from(tenants).where(eq(tenants.id, tenantId)),
    keys: await db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)),
    domains: await db.select().from(domains).where(eq(domains.tenantId, tenantId)),
    tokens: await db.select().from(installTokens).where(eq(installTokens.tenantId, tenantId)),
  }));
}

/** Only what a dry run touches: a sweep that got through by mistake must not wipe the shared database. */
function queryOf(op: SweptOperation): string {
  return op.queryParams.includes('dry_run') ? '?dry_run=true' : '';
}

describe('battery: control API object-level access', () => {
  test('13 every control route naming another tenant, under a tenant:admin key → 404 as for no tenant', async () => {
    const a = await newTenant();
    const bDomain = `${unique('b')}.example.com`;
    const b = await newTenant({ domain: bDomain });
    const bKey = await newKey(b.tenant.id, ['proxy:read']);
    const aKeys = [await newKey(a.tenant.id, ['tenant:admin']), await newKey(a.tenant.id, ['*'])];
    const before = await tenantState(b.tenant.id);

    const operations = (await controlOperations()).filter((op) => op.pathParams.includes('tenant'));
    // Every {tenant} route of DESIGN.md's table, at least; a document that lost them must not pass as clean.
    expect(operations.length).toBeGreaterThanOrEqual(14);

    const ghost = unique('nosuchtenant');
    const others = { id: bKey.key.id, hostname: bDomain, name: b.tenant.instance ?? '' };
    let swept = 0;
    for (const op of operations) {
      for (const ref of [b.tenant.id, b.tenant.slug]) {
        for (const aKey of aKeys) {
          const path = `${fillPath(op, { ...others, tenant: ref })}${queryOf(op)}`;
          const res = await api<ErrorBody>(op.method, path, { key: aKey.secret, body: op.body });
          const label = `${op.method} ${path} with scopes ${aKey.key.scopes}`;
          expect(res.status, label).toBe(404);
          expect(res.body.error.code, label).toBe('not_found');
          // Word for word what a tenant that does not exist gets: no hint that B is there.
          const none = await api<ErrorBody>(op.method, fillPath(op, { ...others, tenant: ghost }), {
            key: aKey.secret,
            body: op.body,
          });
          expect({ status: none.status, message: none.body.error.message }, label).toEqual({
            status: 404,
            message: res.body.error.message,
          });
          swept += 1;
        }
      }
    }
    expect(swept).toBe(operations.length * 4);
    expect(await tenantState(b.tenant.id)).toEqual(before);

    // The same sweep on A's own tenant is answered (no 404 on any read), so the paths above are real ones.
    const aOwn = { id: aKeys[0].key.id, hostname: bDomain, name: a.tenant.instance ?? '' };
    for (const op of operations.filter((o) => o.method === 'GET' && !o.pathParams.includes('hostname'))) {
      const res = await api(op.method, fillPath(op, { ...aOwn, tenant: a.tenant.id }), {
        key: aKeys[0].secret,
      });
      expect(res.status, `${op.method} ${op.template} on its own tenant`).toBe(200);
    }
  }, 120_000);

  test('14 operator routes with a tenant key → 403 or 404, and nothing changes', async () => {
    const t = await newTenant();
    const tenantKeys = [await newKey(t.tenant.id, ['tenant:admin']), await newKey(t.tenant.id, ['*'])];
    const instance = await newInstance();
    const operatorKey = await api<{ key: { id: string }; secret: string }>('POST', '/v1/keys', {
      body: { name: unique('operator'), scopes: ['admin'] },
    });
    expect(operatorKey.status).toBe(201);
    const instanceBefore = await withDb((db) =>
      db.select().from(instances).where(eq(instances.name, instance)),
    );

    const operations = (await controlOperations()).filter(
      (op) => op.secured && !op.pathParams.includes('tenant'),
    );
    // Instances (5 + rotate), tenant list and create, operator keys (3), audit, events, config (2).
    expect(operations.length).toBeGreaterThanOrEqual(13);
    const values = { name: instance, id: operatorKey.body.key.id };
    for (const op of operations) {
      for (const key of tenantKeys) {
        const path = `${fillPath(op, values)}${queryOf(op)}`;
        const res = await api<ErrorBody>(op.method, path, { key: key.secret, body: op.body });
        const label = `${op.method} ${path} with scopes ${key.key.scopes}`;
        expect([403, 404], label).toContain(res.status);
        expect(['insufficient_scope', 'not_found'], label).toContain(res.body.error.code);
      }
    }
    expect(await withDb((db) => db.select().from(instances).where(eq(instances.name, instance)))).toEqual(
      instanceBefore,
    );
    // No change anywhere was made by these keys: every control write is audited with its actor.
    const actors = tenantKeys.map((k) => k.key.id);
    expect(await withDb((db) => db.select().from(auditLog).where(inArray(auditLog.actor, actors)))).toEqual(
      [],
    );
    // The operator key was neither revoked nor replaced.
    expect((await api('GET', '/v1/instances', { key: operatorKey.body.secret })).status).toBe(200);
    // And the same routes do answer the operator, so the refusals above are about who asked.
    for (const op of operations.filter((o) => o.method === 'GET')) {
      const res = await api(op.method, fillPath(op, values));
      expect(res.status, `${op.method} ${op.template} as the operator`).toBe(200);
    }
  }, 120_000);
});
