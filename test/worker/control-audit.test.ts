import { expect, test } from 'vitest';
import { api, type ErrorBody, type KeyJson, newKey, newTenant } from './control-client';

type AuditEvent = {
  id: string;
  at: string;
  actor: string;
  tenant_id: string | null;
  resource: string;
  resource_id: string;
  action: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
};
type Page = { data: AuditEvent[]; next_cursor: string | null };

test('every change is recorded: who, what, before/after without secrets, request id; newest first', async () => {
  const created = await newTenant();
  const { tenant } = created;
  const tenantAdmin = await newKey(tenant.id, ['tenant:admin', 'proxy:read']);
  const made = await api<{ key: KeyJson; secret: string }>('POST', `/v1/tenants/${tenant.id}/keys`, {
    key: tenantAdmin.secret,
    body: { name: 'by tenant', scopes: ['proxy:read'] },
    headers: { 'x-request-id': 'audit-req-1' },
  });
  const rotated = await api<{ secret: string }>(
    'POST',
    `/v1/tenants/${tenant.id}/keys/${made.body.key.id}/rotate`,
  );
  await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { name: 'Audited' } });

  const res = await api<Page>('GET', `/v1/audit?tenant=${tenant.slug}`);
  expect(res.status).toBe(200);
  const events = res.body.data;
  expect(events.map((e) => `${e.resource}:${e.action}`)).toEqual([
    'tenant:update',
    'key:rotate',
    'key:create',
    'key:create',
    'tenant:create',
  ]);
  const byTenant = events[2];
  expect(byTenant).toMatchObject({
    actor: tenantAdmin.key.id,
    tenant_id: tenant.id,
    resource_id: made.body.key.id,
    request_id: 'audit-req-1',
    before: null,
  });
  expect(events[0]).toMatchObject({
    actor: 'admin',
    before: { name: tenant.name },
    after: { name: 'Audited' },
  });
  const text = JSON.stringify(events);
  for (const secret of [created.install_token, tenantAdmin.secret, made.body.secret, rotated.body.secret]) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toContain('key_hash');
  expect(text).not.toContain('keyHash');

  // The trail outlives the tenant, reachable by its id.
  await api('DELETE', `/v1/tenants/${tenant.id}`);
  const afterDelete = await api<Page>('GET', `/v1/audit?tenant=${tenant.id}&limit=1`);
  expect(afterDelete.body.data[0]).toMatchObject({
    resource: 'tenant',
    action: 'delete',
    before: { id: tenant.id },
  });
});

test('pages by cursor over more than one page without repeats', async () => {
  const { tenant } = await newTenant();
  for (let i = 0; i < 3; i++) await newKey(tenant.id, ['proxy:read']);
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { body: Page } = await api<Page>(
      'GET',
      `/v1/audit?tenant=${tenant.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
    );
    ids.push(...res.body.data.map((e) => e.id));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor);
  expect(pages).toBe(2);
  expect(ids).toHaveLength(4);
  expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => b - a));
  const bad = await api<ErrorBody>('GET', '/v1/audit?cursor=abc');
  expect(bad.status).toBe(422);
});
