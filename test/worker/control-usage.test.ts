import { expect, test } from 'vitest';
import { usageDaily, usageKeyDaily } from '../../src/db/usage-schema';
import { now } from './clock';
import { api, type ErrorBody, newKey, newTenant } from './control-client';
import { unique, withDb } from './helpers';

type Usage = {
  tenant_id: string;
  from: string;
  to: string;
  totals: Record<string, number>;
  days: ({ date: string } & Record<string, number>)[];
};

function daysAgo(n: number): string {
  return new Date(now() - n * 86_400_000).toISOString().slice(0, 10);
}

test('reads usage_daily: every day of the range, zero-filled, with totals', async () => {
  const { tenant } = await newTenant();
  await withDb((db) =>
    db.insert(usageDaily).values([
      {
        tenantId: tenant.id,
        date: '2026-01-02',
        requests: 10,
        allowed: 8,
        rateLimited: 2,
        status2xx: 7,
        status5xx: 1,
        backend5xx: 1,
        bytesIn: 100,
        bytesOut: 1000,
      },
      {
        tenantId: tenant.id,
        date: '2026-01-04',
        requests: 5,
        allowed: 5,
        unauthorized: 1,
        quotaExceeded: 3,
        status4xx: 5,
        status3xx: 2,
      },
      { tenantId: tenant.id, date: '2026-01-09', requests: 99 },
    ]),
  );
  const res = await api<Usage>('GET', `/v1/tenants/${tenant.slug}/usage?from=2026-01-01&to=2026-01-05`);
  expect(res.status).toBe(200);
  expect(res.body.tenant_id).toBe(tenant.id);
  expect(res.body.from).toBe('2026-01-01');
  expect(res.body.to).toBe('2026-01-05');
  expect(res.body.days.map((d) => d.date)).toEqual([
    '2026-01-01',
    '2026-01-02',
    '2026-01-03',
    '2026-01-04',
    '2026-01-05',
  ]);
  expect(res.body.days[0]).toEqual({
    date: '2026-01-01',
    requests: 0,
    allowed: 0,
    rate_limited: 0,
    quota_exceeded: 0,
    would_limit: 0,
    unauthorized: 0,
    status_2xx: 0,
    status_3xx: 0,
    status_4xx: 0,
    status_5xx: 0,
    backend_4xx: 0,
    backend_5xx: 0,
    bytes_in: 0,
    bytes_out: 0,
  });
  expect(res.body.days[1]).toMatchObject({
    requests: 10,
    allowed: 8,
    rate_limited: 2,
    status_2xx: 7,
    status_5xx: 1,
    bytes_in: 100,
    bytes_out: 1000,
  });
  expect(res.body.totals).toEqual({
    requests: 15,
    allowed: 13,
    rate_limited: 2,
    quota_exceeded: 3,
    would_limit: 0,
    unauthorized: 1,
    status_2xx: 7,
    status_3xx: 2,
    status_4xx: 5,
    status_5xx: 1,
    backend_4xx: 0,
    backend_5xx: 1,
    bytes_in: 100,
    bytes_out: 1000,
  });
});

test('defaults to the last 30 days up to today (UTC)', async () => {
  const { tenant } = await newTenant();
  await withDb((db) => db.insert(usageDaily).values({ tenantId: tenant.id, date: daysAgo(0), requests: 3 }));
  const res = await api<Usage>('GET', `/v1/tenants/${tenant.id}/usage`);
  expect(res.body.to).toBe(daysAgo(0));
  expect(res.body.from).toBe(daysAgo(29));
  expect(res.body.days).toHaveLength(30);
  expect(res.body.days[29]).toMatchObject({ date: daysAgo(0), requests: 3 });
  expect(res.body.totals.requests).toBe(3);
});

test('a range of 366 days is fine; 367, from after to, or a bad date → 422', async () => {
  const { tenant } = await newTenant();
  const ok = await api<Usage>('GET', `/v1/tenants/${tenant.id}/usage?from=2024-01-01&to=2024-12-31`);
  expect(ok.status).toBe(200);
  expect(ok.body.days).toHaveLength(366);
  for (const query of [
    'from=2024-01-01&to=2025-01-01',
    'from=2024-02-02&to=2024-02-01',
    'from=2024-02-30',
    'to=yesterday',
  ]) {
    const res = await api<ErrorBody>('GET', `/v1/tenants/${tenant.id}/usage?${query}`);
    expect(res.status, query).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
  }
  expect((await api('GET', `/v1/tenants/${unique('nosuch')}/usage`)).status).toBe(404);
});

test('a tenant:admin key reads its own usage', async () => {
  const { tenant } = await newTenant();
  const { secret } = await newKey(tenant.id, ['tenant:admin']);
  const res = await api<Usage>('GET', `/v1/tenants/${tenant.id}/usage`, { key: secret });
  expect(res.status).toBe(200);
  expect(res.body.tenant_id).toBe(tenant.id);
});

type KeyUsage = Usage & { key_id: string };

test("a key's usage: its own daily rows (usage_key_daily), the same fields, zero-filled", async () => {
  const { tenant } = await newTenant();
  const { key } = await newKey(tenant.id, ['proxy:read']);
  const { key: other } = await newKey(tenant.id, ['proxy:read']);
  await withDb((db) =>
    db.insert(usageKeyDaily).values([
      { tenantId: tenant.id, keyId: key.id, date: '2026-01-02', requests: 4, allowed: 3, rateLimited: 1 },
      { tenantId: tenant.id, keyId: key.id, date: '2026-01-03', requests: 2, status4xx: 2, bytesOut: 9 },
      { tenantId: tenant.id, keyId: other.id, date: '2026-01-02', requests: 50 },
    ]),
  );
  const res = await api<KeyUsage>(
    'GET',
    `/v1/tenants/${tenant.slug}/keys/${key.id}/usage?from=2026-01-01&to=2026-01-03`,
  );
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    tenant_id: tenant.id,
    key_id: key.id,
    from: '2026-01-01',
    to: '2026-01-03',
  });
  expect(res.body.days.map((d) => [d.date, d.requests])).toEqual([
    ['2026-01-01', 0],
    ['2026-01-02', 4],
    ['2026-01-03', 2],
  ]);
  expect(Object.keys(res.body.days[0]).sort()).toEqual(Object.keys({ date: '', ...res.body.totals }).sort());
  expect(res.body.totals).toMatchObject({
    requests: 6,
    allowed: 3,
    rate_limited: 1,
    status_4xx: 2,
    bytes_out: 9,
  });
  const defaults = await api<KeyUsage>('GET', `/v1/tenants/${tenant.id}/keys/${key.id}/usage`);
  expect(defaults.body.days).toHaveLength(30);
  const bad = await api<ErrorBody>('GET', `/v1/tenants/${tenant.id}/keys/${key.id}/usage?from=2026-02-30`);
  expect(bad.status).toBe(422);
});

test("a key of another tenant, or no key at all, is 404; a tenant:admin key reads its own tenant's keys only", async () => {
  const { tenant } = await newTenant();
  const { tenant: stranger } = await newTenant();
  const { key } = await newKey(tenant.id, ['proxy:read']);
  const { key: strangerKey } = await newKey(stranger.id, ['proxy:read']);
  const foreign = await api<ErrorBody>('GET', `/v1/tenants/${tenant.id}/keys/${strangerKey.id}/usage`);
  expect(foreign.status).toBe(404);
  expect(foreign.body.error.code).toBe('not_found');
  expect((await api('GET', `/v1/tenants/${tenant.id}/keys/${unique('key_')}/usage`)).status).toBe(404);
  const { secret } = await newKey(tenant.id, ['tenant:admin']);
  const own = await api<KeyUsage>('GET', `/v1/tenants/${tenant.id}/keys/${key.id}/usage`, { key: secret });
  expect(own.status).toBe(200);
  expect(own.body.key_id).toBe(key.id);
  const across = await api('GET', `/v1/tenants/${stranger.id}/keys/${strangerKey.id}/usage`, { key: secret });
  expect(across.status).toBe(404);
  const { secret: reader } = await newKey(tenant.id, ['proxy:read']);
  expect((await api('GET', `/v1/tenants/${tenant.id}/keys/${key.id}/usage`, { key: reader })).status).toBe(
    403,
  );
});

type TenantTotals = { tenant_id: string; slug: string | null; totals: Record<string, number> };
type UsagePage = { from: string; to: string; data: TenantTotals[]; next_cursor: string | null };

test('GET /v1/usage: every tenant’s totals for the range, busiest first, ties by id, paged', async () => {
  // Dates no other case writes, so the shared database holds only these rows there.
  const made = await Promise.all([newTenant(), newTenant(), newTenant()]);
  const [a, b] = made.map((m) => m.tenant).sort((x, y) => (x.id < y.id ? -1 : 1));
  const c = made.map((m) => m.tenant).find((t) => t !== a && t !== b)!;
  await withDb((db) =>
    db.insert(usageDaily).values([
      { tenantId: a.id, date: '2031-03-01', requests: 30, status2xx: 30, bytesOut: 300 },
      { tenantId: a.id, date: '2031-03-03', requests: 20, status2xx: 15, unauthorized: 5, status4xx: 5 },
      { tenantId: b.id, date: '2031-03-02', requests: 50, status2xx: 50 },
      { tenantId: c.id, date: '2031-03-02', requests: 10, rateLimited: 10, status4xx: 10 },
      // Outside the range: not counted.
      { tenantId: c.id, date: '2031-03-04', requests: 1_000 },
    ]),
  );
  const first = await api<UsagePage>('GET', '/v1/usage?from=2031-03-01&to=2031-03-03&limit=2');
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ from: '2031-03-01', to: '2031-03-03' });
  expect(first.body.data.map((r) => [r.slug, r.totals.requests])).toEqual([
    [a.slug, 50],
    [b.slug, 50],
  ]);
  expect(first.body.data[0].totals).toMatchObject({ status_2xx: 45, unauthorized: 5, bytes_out: 300 });
  expect(first.body.next_cursor).not.toBeNull();
  const second = await api<UsagePage>(
    'GET',
    `/v1/usage?from=2031-03-01&to=2031-03-03&limit=2&cursor=${first.body.next_cursor}`,
  );
  expect(second.status).toBe(200);
  expect(second.body.data.map((r) => [r.tenant_id, r.totals.requests, r.totals.rate_limited])).toEqual([
    [c.id, 10, 10],
  ]);
  expect(second.body.next_cursor).toBeNull();

  // Operators only; a cursor this API did not hand out and a range past 366 days are refused.
  const { secret } = await newKey(a.id, ['tenant:admin']);
  expect((await api('GET', '/v1/usage', { key: secret })).status).toBe(403);
  const forged = await api<ErrorBody>('GET', '/v1/usage?cursor=bm9wZQ');
  expect([forged.status, forged.body.error.code]).toEqual([422, 'validation_failed']);
  const long = await api<ErrorBody>('GET', '/v1/usage?from=2029-01-01&to=2031-03-03');
  expect(long.status).toBe(422);
});
