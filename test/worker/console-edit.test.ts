// The console's key editing and custom domains (issue 19): form posts through src/tenancy/, audited with the
// admin as actor, in force on the data plane at once.
import { and, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { apiKeys, auditLog, domains, tenantAdmins } from '../../src/db/schema';
import { csrfOf, getPage, type InstalledTenant, installedTenant, postForm, signIn } from './console-client';
import { gatewayFetch, withDb } from './helpers';

async function signedIn(t: InstalledTenant) {
  const cookie = await signIn(t);
  const page = await getPage(t.host, '/_gateway/console', cookie);
  return { cookie, csrf: csrfOf(await page.text()) };
}

async function adminKey(t: InstalledTenant) {
  const [key] = await withDb((db) => db.select().from(apiKeys).where(eq(apiKeys.tenantId, t.tenant.id)));
  return key;
}

async function auditOf(resourceId: string, action: string) {
  return withDb((db) =>
    db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceId, resourceId), eq(auditLog.action, action))),
  );
}

describe('console: editing a key', () => {
  test('name, scopes, own limit and expiry change in place, audited with the admin; the data plane follows', async () => {
    const t = await installedTenant();
    const { cookie, csrf } = await signedIn(t);
    const key = await adminKey(t);
    const proxied = () =>
      gatewayFetch(`http://${t.host}/hello`, { headers: { authorization: `Bearer ${t.secret}` } });
    expect((await proxied()).status).toBe(403);
    const form = await getPage(t.host, `/_gateway/console/keys/${key.id}`, cookie);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain(`value="${key.name}"`);

    const res = await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['proxy:read', 'tenant:admin', 'send'],
        requests_per_minute: '30',
        requests_per_day: '',
        expiry: '7',
      },
      { cookie },
    );
    expect(res.status).toBe(303);
    const after = await adminKey(t);
    expect(after).toMatchObject({
      name: 'renamed',
      scopes: ['proxy:read', 'tenant:admin', 'send'],
      rateLimit: { requests_per_minute: 30, requests_per_day: null },
      keyHash: key.keyHash,
    });
    // The added proxy:read is in force on the next request.
    expect((await proxied()).status).toBe(200);
    const days = (after.expiresAt!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const [admin] = await withDb((db) =>
      db.select().from(tenantAdmins).where(eq(tenantAdmins.tenantId, t.tenant.id)),
    );
    const [audit] = await auditOf(key.id, 'update');
    expect(audit.actor).toBe(admin.id);
    expect(audit.after).toMatchObject({ name: 'renamed', scopes: ['proxy:read', 'tenant:admin', 'send'] });

    // "keep" keeps the expiry; "never" clears it.
    await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['tenant:admin'],
        requests_per_minute: '',
        requests_per_day: '',
        expiry: 'keep',
      },
      { cookie },
    );
    expect((await adminKey(t)).expiresAt).toEqual(after.expiresAt);
    expect((await adminKey(t)).rateLimit).toBeNull();
    await postForm(
      t.host,
      `/_gateway/console/keys/${key.id}`,
      {
        _csrf: csrf,
        name: 'renamed',
        scopes: ['tenant:admin'],
        requests_per_minute: '',
        requests_per_day: '',
        expiry: 'never',
      },
      { cookie },
    );
    expect((await adminKey(t)).expiresAt).toBeNull();
  });

  test('a limit above the tenant’s, a bad scope or no name: the form again with the reason (422), nothing changed', async () => {
    const t = await installedTenant({ rate_limit: { requests_per_minute: 100, requests_per_day: null } });
    const { cookie, csrf } = await signedIn(t);
    const key = await adminKey(t);
    const post = (fields: Record<string, string | string[]>) =>
      postForm(
        t.host,
        `/_gateway/console/keys/${key.id}`,
        {
          _csrf: csrf,
          name: 'x',
          scopes: ['tenant:admin'],
          requests_per_minute: '',
          requests_per_day: '',
          expiry: 'keep',
          ...fields,
        },
        { cookie },
      );
    const above = await post({ requests_per_minute: '500' });
    expect(above.status).toBe(422);
    expect(await above.text()).toContain('must not exceed the tenant&#39;s 100');
    expect((await post({ scopes: ['bad scope!'] })).status).toBe(422);
    expect((await post({ name: '  ' })).status).toBe(422);
    expect((await post({ requests_per_minute: '1.5' })).status).toBe(422);
    expect(await adminKey(t)).toEqual(key);
  });
});

describe('console: custom domains', () => {
  test('add (on a placement), listed with its instance, routes to the tenant; remove stops it', async () => {
    const t = await installedTenant();
    const { cookie, csrf } = await signedIn(t);
    const hostname = `api-${crypto.randomUUID().slice(0, 8)}.example.net`;
    const added = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: hostname.toUpperCase(), instance: t.tenant.instance ?? '' },
      { cookie },
    );
    expect(added.status).toBe(303);
    const page = await (await getPage(t.host, '/_gateway/console', cookie)).text();
    expect(page).toContain(`data-hostname="${hostname}"`);
    const [row] = await withDb((db) => db.select().from(domains).where(eq(domains.hostname, hostname)));
    expect(row.tenantId).toBe(t.tenant.id);
    expect(await auditOf(hostname, 'create')).toHaveLength(1);
    // The domain reaches the tenant (its pages answer on it).
    const via = await gatewayFetch(`http://${hostname}/_gateway/console`, { redirect: 'manual' });
    expect(via.status).toBe(200);

    const taken = await postForm(t.host, '/_gateway/console/domains', { _csrf: csrf, hostname }, { cookie });
    expect(taken.status).toBe(409);
    const bad = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: 'x.localhost' },
      { cookie },
    );
    expect(bad.status).toBe(422);
    const elsewhere = await postForm(
      t.host,
      '/_gateway/console/domains',
      { _csrf: csrf, hostname: `b${hostname}`, instance: 'nowhere' },
      { cookie },
    );
    expect(elsewhere.status).toBe(422);

    const removed = await postForm(
      t.host,
      '/_gateway/console/domains/remove',
      { _csrf: csrf, hostname },
      { cookie },
    );
    expect(removed.status).toBe(303);
    expect(await withDb((db) => db.select().from(domains).where(eq(domains.hostname, hostname)))).toEqual([]);
    const gone = await gatewayFetch(`http://${hostname}/_gateway/console`, { redirect: 'manual' });
    expect(gone.status).toBe(404);
  });
});
