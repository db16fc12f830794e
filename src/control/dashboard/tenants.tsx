// The dashboard's tenant list: search by slug or name, filter by status, requests today and a 30-day
// sparkline per tenant, pages of 50 by slug.
import { and, asc, eq, gt, gte, ilike, inArray, or, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { now as clockNow } from '../../core/time/clock';
import { lastDays } from '../../core/usage/usage-chart';
import { type TenantStatus, tenants } from '../../db/schema';
import { usageDaily } from '../../db/usage-schema';
import { Sparkline } from '../../edge';
import { useDatabase } from '../../request-database';
import { DashboardLayout } from './layout';
import type { DashboardEnv } from './session';

const PAGE_SIZE = 50;
const STATUSES: TenantStatus[] = ['pending', 'active', 'suspended'];
const plain = new Intl.NumberFormat('en');

/** `q` as a literal ILIKE pattern: its own % and _ match themselves. */
const contains = (q: string) => `%${q.replace(/[\\%_]/g, '\\$&')}%`;

async function loadTenants(c: Context<DashboardEnv>, q: string, status: string, after: string) {
  const db = await useDatabase(c);
  const rows = await db
    .select({
      id: tenants.id,
      name: tenants.name,
      slug: tenants.slug,
      status: tenants.status,
      instance: sql<string | null>`(select i.name from instances i where i.id = tenants.home_instance_id)`,
    })
    .from(tenants)
    .where(
      and(
        q ? or(ilike(tenants.slug, contains(q)), ilike(tenants.name, contains(q))) : undefined,
        STATUSES.includes(status as TenantStatus) ? eq(tenants.status, status as TenantStatus) : undefined,
        after ? gt(tenants.slug, after) : undefined,
      ),
    )
    .orderBy(asc(tenants.slug))
    .limit(PAGE_SIZE + 1);
  const page = rows.slice(0, PAGE_SIZE);
  const dates = lastDays(clockNow(), 30);
  const usage = page.length
    ? await db
        .select({ tenantId: usageDaily.tenantId, date: usageDaily.date, requests: usageDaily.requests })
        .from(usageDaily)
        .where(
          and(
            inArray(
              usageDaily.tenantId,
              page.map((t) => t.id),
            ),
            gte(usageDaily.date, dates[0]),
          ),
        )
    : [];
  const byTenant = new Map<string, Map<string, number>>();
  for (const u of usage) {
    const days = byTenant.get(u.tenantId) ?? new Map<string, number>();
    days.set(u.date, u.requests);
    byTenant.set(u.tenantId, days);
  }
  return {
    page: page.map((t) => ({ ...t, daily: dates.map((d) => byTenant.get(t.id)?.get(d) ?? 0) })),
    next: rows.length > PAGE_SIZE ? page[page.length - 1].slug : null,
  };
}

export async function TenantsPage(c: Context<DashboardEnv>) {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const status = c.req.query('status') ?? '';
  const after = c.req.query('after') ?? '';
  const { page, next } = await loadTenants(c, q, status, after);
  const query = (extra: Record<string, string>) =>
    `/dashboard?${new URLSearchParams({ ...(q && { q }), ...(status && { status }), ...extra })}`;
  return c.html(
    <DashboardLayout c={c} title="Tenants">
      <h1>Tenants</h1>
      <section>
        <form method="get" action="/dashboard" class="row" id="tenant-search">
          <div>
            <label for="q">Search</label>
            <input id="q" name="q" type="search" value={q} placeholder="slug or name" />
          </div>
          <div>
            <label for="status">Status</label>
            <select id="status" name="status">
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option value={s} selected={s === status}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div class="actions">
            <button type="submit">Search</button>
          </div>
        </form>
      </section>
      <section id="tenants">
        {page.length === 0 ? (
          <p class="muted">No tenant matches.</p>
        ) : (
          <div class="table">
            <table class="cards">
              <thead>
                <tr>
                  <th>Tenant</th>
                  <th>Status</th>
                  <th>Instance</th>
                  <th class="num">Requests today</th>
                  <th>30 days</th>
                </tr>
              </thead>
              <tbody>
                {page.map((t) => (
                  <tr data-slug={t.slug}>
                    <td data-label="Tenant">
                      <a href={`/dashboard/tenants/${t.slug}`}>{t.name}</a>{' '}
                      <code class="muted">{t.slug}</code>
                    </td>
                    <td data-label="Status">
                      <span class={`badge ${t.status}`}>{t.status}</span>
                    </td>
                    <td data-label="Instance">{t.instance ?? '—'}</td>
                    <td data-label="Requests today" class="num">
                      {plain.format(t.daily[t.daily.length - 1])}
                    </td>
                    <td data-label="30 days">
                      <Sparkline
                        values={t.daily}
                        label={`${plain.format(t.daily.reduce((a, b) => a + b, 0))} requests in 30 days`}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p>
          {after ? <a href={query({})}>First page</a> : null}{' '}
          {next ? <a href={query({ after: next })}>Next page</a> : null}
        </p>
      </section>
    </DashboardLayout>,
  );
}
