// One tenant on the dashboard: its URLs, placements, limits, keys, domains, a 30-day usage chart, its events
// and audit trail; suspend, activate, a new install token and a recovery link, each through tenancy.
import { desc, eq, or } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { now as clockNow } from '../../core/time/clock';
import { apiKeys, auditLog, domains, events, tenants } from '../../db/schema';
import { selectTenantViews } from '../../db/tenants';
import { CopyButton, UsageChart } from '../../edge';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { selectDomains } from '../../tenancy/domain-schemas';
import { issueRecoveryLink, RECOVERY_PATH, recoveryUrl } from '../../tenancy/recovery';
import { toTenantJson } from '../../tenancy/tenant-schemas';
import { installUrl, tenantHostsOf } from '../../tenancy/tenant-urls';
import { changeTenant, reissueInstallToken } from '../../tenancy/tenants';
import { tenantChartDays } from '../../usage/reads';
import { writer } from '../writer';
import { DashboardLayout, fmt, Hidden } from './layout';
import { AuditRows, EventRows } from './rows';
import { type DashboardEnv, dashboardOf, requireWriter } from './session';

const limitText = (n: number | null | undefined) => (n == null ? 'unlimited' : n.toLocaleString('en'));

async function tenantNamed(c: Context<DashboardEnv>, ref: string) {
  const db = await useDatabase(c);
  const [view] = await selectTenantViews(db).where(or(eq(tenants.slug, ref), eq(tenants.id, ref)));
  if (!view) throw new ApiError('not_found', 'No such tenant');
  return view;
}

async function loadTenant(c: Context<DashboardEnv>, ref: string) {
  const view = await tenantNamed(c, ref);
  const id = view.tenant.id;
  const db = await useDatabase(c);
  const [keys, domainRows, days, eventRows, auditRows] = await Promise.all([
    db.select().from(apiKeys).where(eq(apiKeys.tenantId, id)).orderBy(desc(apiKeys.createdAt)).limit(100),
    db.select(selectDomains()).from(domains).where(eq(domains.tenantId, id)),
    tenantChartDays(db, id, clockNow()),
    db.select().from(events).where(eq(events.tenantId, id)).orderBy(desc(events.seq)).limit(10),
    db.select().from(auditLog).where(eq(auditLog.tenantId, id)).orderBy(desc(auditLog.id)).limit(20),
  ]);
  return {
    tenant: toTenantJson(view, tenantHostsOf(c.env)),
    keys,
    domainRows,
    days,
    eventRows,
    auditRows,
  };
}

/** A secret shown once, in the answer of the action that made it (no redirect that would carry it). */
type ShownOnce = { id: string; title: string; text: string; secret: string; after?: Child };

async function TenantPage(c: Context<DashboardEnv>, ref: string, shown?: ShownOnce) {
  const { tenant, keys, domainRows, days, eventRows, auditRows } = await loadTenant(c, ref);
  const { csrf, operator } = dashboardOf(c);
  const action = (path: string) => `/dashboard/tenants/${tenant.slug}/${path}`;
  return c.html(
    <DashboardLayout c={c} title={tenant.name}>
      <h1>
        {tenant.name} <span class={`badge ${tenant.status}`}>{tenant.status}</span>
      </h1>
      {shown ? (
        <section class="notice" id={shown.id}>
          <h2>{shown.title}</h2>
          <p>{shown.text}</p>
          <code class="secret" id="token">
            {shown.secret}
          </code>
          <CopyButton target="token" />
          {shown.after ? <p>{shown.after}</p> : null}
        </section>
      ) : null}
      <section id="actions">
        <h2>Actions</h2>
        {operator.canWrite ? (
          <div class="row">
            {tenant.status === 'active' ? (
              <form method="post" action={action('status')}>
                <Hidden csrf={csrf} />
                <input type="hidden" name="status" value="suspended" />
                <button type="submit" class="danger">
                  Suspend
                </button>
              </form>
            ) : null}
            {tenant.status === 'suspended' ? (
              <form method="post" action={action('status')}>
                <Hidden csrf={csrf} />
                <input type="hidden" name="status" value="active" />
                <button type="submit">Activate</button>
              </form>
            ) : null}
            {tenant.status === 'pending' ? (
              <form method="post" action={action('install-token')}>
                <Hidden csrf={csrf} />
                <button type="submit">New install token</button>
              </form>
            ) : (
              <form method="post" action={action('recovery')}>
                <Hidden csrf={csrf} />
                <button type="submit">Recovery link</button>
              </form>
            )}
          </div>
        ) : (
          <p class="muted">This key may only look (read).</p>
        )}
      </section>
      <section id="tenant">
        <h2>Tenant</h2>
        <dl>
          <dt>Slug</dt>
          <dd>
            <code>{tenant.slug}</code>
          </dd>
          <dt>Id</dt>
          <dd>
            <code>{tenant.id}</code>
          </dd>
          <dt>URLs</dt>
          <dd>
            {tenant.urls.length === 0
              ? '—'
              : tenant.urls.map((u) => (
                  <div>
                    <code>{u.url}</code> <span class="muted">{u.service}</span>
                  </div>
                ))}
          </dd>
          <dt>Home instance</dt>
          <dd>{tenant.instance ?? '—'}</dd>
          <dt>Placed on</dt>
          <dd>{tenant.instances.join(', ') || '—'}</dd>
          <dt>Per minute</dt>
          <dd>{limitText(tenant.rate_limit?.requests_per_minute)}</dd>
          <dt>Per day</dt>
          <dd>{limitText(tenant.rate_limit?.requests_per_day)}</dd>
          <dt>Domains</dt>
          <dd>
            {domainRows.length === 0
              ? '—'
              : domainRows.map((d) => (
                  <div>
                    <code>{d.hostname}</code>{' '}
                    <span class="muted">
                      {d.instance ?? 'home'}
                      {d.service ? ` · ${d.service}` : ''}
                    </span>
                  </div>
                ))}
          </dd>
        </dl>
      </section>
      <section id="usage">
        <h2>Usage, {days.length === 30 ? 'last 30 days' : `since ${days[0]?.date}`}</h2>
        <UsageChart days={days} />
      </section>
      <section id="keys">
        <h2>Keys</h2>
        {keys.length === 0 ? (
          <p class="muted">None yet (the tenant's admin key is made at install).</p>
        ) : null}
        <div class="table" hidden={keys.length === 0}>
          <table class="cards">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th>Last used</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr>
                  <td data-label="Name">{k.name}</td>
                  <td data-label="Key">
                    <code>{k.prefix}…</code>
                  </td>
                  <td data-label="Scopes">
                    <code>{k.scopes.join(' ')}</code>
                  </td>
                  <td data-label="Last used" class="when">
                    {fmt(k.lastUsedAt)}
                  </td>
                  <td data-label="State">{k.revokedAt ? 'revoked' : 'live'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section id="events">
        <h2>Events</h2>
        <EventRows rows={eventRows} />
      </section>
      <section id="audit">
        <h2>Audit trail</h2>
        <AuditRows rows={auditRows} />
      </section>
    </DashboardLayout>,
  );
}

export function registerTenantPage(app: Hono<DashboardEnv>) {
  app.get('/tenants/:tenant', (c) => TenantPage(c, c.req.param('tenant')));

  app.post('/tenants/:tenant/status', requireWriter, async (c) => {
    const view = await tenantNamed(c, c.req.param('tenant'));
    const status = (await c.req.parseBody()).status;
    if (status !== 'active' && status !== 'suspended')
      throw new ApiError('validation_failed', 'status must be active or suspended', [
        { path: 'status', message: 'active or suspended' },
      ]);
    // The write tells the data plane itself, after commit (tenancy/writer).
    await changeTenant(await writer(c), view.tenant.id, { fields: { status }, action: 'update' });
    return c.redirect(`/dashboard/tenants/${view.tenant.slug}`, 303);
  });

  app.post('/tenants/:tenant/install-token', requireWriter, async (c) => {
    const view = await tenantNamed(c, c.req.param('tenant'));
    const { token } = await reissueInstallToken(await writer(c), view.tenant.id);
    const url = installUrl(view, tenantHostsOf(c.env));
    return TenantPage(c, view.tenant.slug, {
      id: 'install-token',
      title: 'New install token',
      text: "Shown once: hand it to the tenant's admin with the install URL. The earlier token no longer works.",
      secret: token.token,
      after: url ? (
        <>
          Install at <code>{url}</code>
        </>
      ) : undefined,
    });
  });

  app.post('/tenants/:tenant/recovery', requireWriter, async (c) => {
    const ref = await tenantNamed(c, c.req.param('tenant'));
    const { token, expiresAt, view } = await issueRecoveryLink(await writer(c), ref.tenant.id);
    // Without a base domain the path alone, to open on one of the tenant's custom domains.
    const url = recoveryUrl(view, tenantHostsOf(c.env), token);
    return TenantPage(c, view.tenant.slug, {
      id: 'recovery-link',
      title: 'Recovery link',
      text:
        "Shown once: hand it to the tenant's admin. Opening it signs them in to the console, once, until " +
        `${fmt(expiresAt)} UTC; an earlier unused link no longer works. The console shows this key made it.`,
      secret: url ?? `${RECOVERY_PATH}?token=${token}`,
    });
  });
}
