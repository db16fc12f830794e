// The console's overview: the tenant, its limits, a chart of its usage by outcome, its keys with their own
// usage, its custom domains, the new-key form and the admin's account (with a pending recovery's notice).
// Every write is a form post to the routes of keys.tsx, key-edit.tsx, domains.tsx and password.tsx, which go
// through src/tenancy/.
import { desc, eq, sql } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { now as clockNow } from '../../core/time/clock';
import { lastDays } from '../../core/usage/usage-chart';
import { apiKeys, tenants } from '../../db/schema';
import { selectTenantViews } from '../../db/tenants';
import { usageKeyDaily } from '../../db/usage-schema';
import { useDatabase } from '../../request-database';
import { toTenantJson } from '../../tenancy/tenant-schemas';
import { tenantHostsOf } from '../../tenancy/tenant-urls';
import { tenantChartDays } from '../../usage/reads';
import { DomainsSection, tenantDomains } from './domains';
import { type PageEnv, tenantOf } from './env';
import { filterKeys, KeyFilter, KeyList } from './key-list';
import { NewKeyForm } from './keys';
import { UsageChart } from './kit';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { AccountSection, accountOf, RecoveryNotice } from './password';
import { loadSession } from './session';
import { SignInPage } from './sign-in';

const USAGE_DAYS = 30;
const KEYS_SHOWN = 200;

function limitText(value: number | null | undefined, unit: string) {
  return value == null ? 'unlimited' : `${value.toLocaleString('en')} ${unit}`;
}

async function loadOverview(c: Context<PageEnv>, adminId: string) {
  const tenantId = tenantOf(c).id;
  const db = await useDatabase(c);
  const dates = lastDays(clockNow(), USAGE_DAYS);
  const [[view], keys, days, perKey, domainRows, account] = await Promise.all([
    selectTenantViews(db).where(eq(tenants.id, tenantId)),
    db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.tenantId, tenantId))
      .orderBy(desc(apiKeys.createdAt))
      .limit(KEYS_SHOWN),
    tenantChartDays(db, tenantId, clockNow(), USAGE_DAYS),
    // Requests of the last 30 days, and the last day with any (the data plane never writes last_used_at).
    db
      .select({
        keyId: usageKeyDaily.keyId,
        requests: sql<number>`(sum(${usageKeyDaily.requests}) filter (where ${usageKeyDaily.date} >= ${dates[0]}))::float8`,
        lastDay: sql<string>`max(${usageKeyDaily.date}) filter (where ${usageKeyDaily.requests} > 0)`,
      })
      .from(usageKeyDaily)
      .where(eq(usageKeyDaily.tenantId, tenantId))
      .groupBy(usageKeyDaily.keyId),
    tenantDomains(c),
    accountOf(c, adminId),
  ]);
  return {
    tenant: toTenantJson(view, tenantHostsOf(c.env)),
    keys,
    usage: new Map(perKey.map((k) => [k.keyId, { requests: Number(k.requests ?? 0), lastDay: k.lastDay }])),
    days,
    domains: domainRows,
    account,
  };
}

export function registerConsole(app: Hono<PageEnv>) {
  app.get('/_gateway', (c) => c.redirect('/_gateway/console', 302));
  app.get('/_gateway/', (c) => c.redirect('/_gateway/console', 302));

  app.get('/_gateway/console', loadSession, async (c) => {
    if (tenantOf(c).status === 'pending') return c.redirect('/_gateway/install', 302);
    const session = c.get('session');
    if (!session) return c.html(<SignInPage c={c} />);
    const { tenant, keys, usage, days, domains, account } = await loadOverview(c, session.admin.id);
    const q = c.req.query('q') ?? '';
    const shownKeys = filterKeys(keys, q);
    const nonce = c.get('secureHeadersNonce') ?? '';
    return c.html(
      <Layout title="Console" nonce={nonce} tenantName={tenant.name} nav={<ConsoleNav c={c} />}>
        <h1>Console</h1>
        <RecoveryNotice account={account} />
        <section id="status">
          <h2>Tenant</h2>
          <dl>
            <dt>Status</dt>
            <dd>
              <span class={`badge ${tenant.status}`}>{tenant.status}</span>
            </dd>
            <dt>Slug</dt>
            <dd>
              <code>{tenant.slug}</code>
            </dd>
            <dt>Schema</dt>
            <dd>
              <code>{tenant.schema_name}</code>
            </dd>
            <dt>Home instance</dt>
            <dd>{tenant.instance ?? '—'}</dd>
            <dt>Placed on</dt>
            <dd>{tenant.instances.join(', ') || '—'}</dd>
          </dl>
        </section>
        <section id="limits">
          <h2>Limits</h2>
          <dl>
            <dt>Per minute</dt>
            <dd>{limitText(tenant.rate_limit?.requests_per_minute, 'requests')}</dd>
            <dt>Per day (UTC)</dt>
            <dd>{limitText(tenant.rate_limit?.requests_per_day, 'requests')}</dd>
            <dt>Authentication</dt>
            <dd>{tenant.auth.mode === 'required' ? 'an API key on every request' : tenant.auth.mode}</dd>
            {tenant.auth.public_paths.length > 0 ? (
              <>
                <dt>Public paths</dt>
                <dd>
                  <code>{tenant.auth.public_paths.join(' ')}</code>
                </dd>
              </>
            ) : null}
            <dt>If the limiter is down</dt>
            <dd>
              {tenant.limits.on_gate_error === 'open' ? 'let requests through' : 'refuse requests (503)'}
            </dd>
          </dl>
        </section>
        <section id="usage">
          <h2>Usage, {days.length === USAGE_DAYS ? `last ${USAGE_DAYS} days` : `since ${days[0]?.date}`}</h2>
          <UsageChart days={days} />
        </section>
        <section id="keys">
          <h2>API keys</h2>
          {keys.length > 5 || q ? <KeyFilter q={q} shown={shownKeys.length} total={keys.length} /> : null}
          <KeyList keys={shownKeys} usage={usage} csrf={session.csrf} />
        </section>
        <section id="new-key">
          <h2>New key</h2>
          <NewKeyForm csrf={session.csrf} />
        </section>
        <DomainsSection
          domains={domains}
          home={tenant.instance}
          placements={tenant.instances}
          csrf={session.csrf}
        />
        <AccountSection session={session} account={account} />
      </Layout>,
    );
  });
}
