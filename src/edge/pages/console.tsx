import { and, desc, eq, gte } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { now as clockNow } from '../../core/time/clock';
import { fillDays, lastDays } from '../../core/usage/usage-chart';
import { apiKeys, tenants, usageDaily } from '../../db/schema';
import { selectTenantViews } from '../../db/tenants';
import { useDatabase } from '../../request-database';
import { toTenantJson } from '../../tenancy/tenant-schemas';
import { type PageEnv, tenantOf } from './env';
import { KeyList, NewKeyForm } from './keys';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { loadSession } from './session';
import { SignInPage } from './sign-in';
import { UsageChart } from './usage-chart';

const USAGE_DAYS = 30;
const KEYS_SHOWN = 200;

function limitText(value: number | null | undefined, unit: string) {
  return value == null ? 'unlimited' : `${value.toLocaleString('en')} ${unit}`;
}

async function loadOverview(c: Context<PageEnv>) {
  const tenantId = tenantOf(c).id;
  const db = await useDatabase(c);
  const dates = lastDays(clockNow(), USAGE_DAYS);
  const [[view], keys, usage] = await Promise.all([
    selectTenantViews(db).where(eq(tenants.id, tenantId)),
    db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.tenantId, tenantId))
      .orderBy(desc(apiKeys.createdAt))
      .limit(KEYS_SHOWN),
    db
      .select({
        date: usageDaily.date,
        requests: usageDaily.requests,
        allowed: usageDaily.allowed,
        rate_limited: usageDaily.rateLimited,
      })
      .from(usageDaily)
      .where(and(eq(usageDaily.tenantId, tenantId), gte(usageDaily.date, dates[0]))),
  ]);
  return { tenant: toTenantJson(view), keys, days: fillDays(dates, usage) };
}

export function registerConsole(app: Hono<PageEnv>) {
  app.get('/_gateway', (c) => c.redirect('/_gateway/console', 302));
  app.get('/_gateway/', (c) => c.redirect('/_gateway/console', 302));

  app.get('/_gateway/console', loadSession, async (c) => {
    if (tenantOf(c).status === 'pending') return c.redirect('/_gateway/install', 302);
    const session = c.get('session');
    if (!session) return c.html(<SignInPage c={c} />);
    const { tenant, keys, days } = await loadOverview(c);
    const nonce = c.get('secureHeadersNonce') ?? '';
    return c.html(
      <Layout title="Console" nonce={nonce} tenantName={tenant.name} nav={<ConsoleNav c={c} />}>
        <h1>Console</h1>
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
            {tenant.domains.length > 0 ? (
              <>
                <dt>Custom domains</dt>
                <dd>{tenant.domains.join(', ')}</dd>
              </>
            ) : null}
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
          <h2>Usage, last {USAGE_DAYS} days</h2>
          <UsageChart days={days} />
        </section>
        <section id="keys">
          <h2>API keys</h2>
          <KeyList keys={keys} csrf={session.csrf} />
        </section>
        <section id="new-key">
          <h2>New key</h2>
          <NewKeyForm csrf={session.csrf} />
        </section>
      </Layout>,
    );
  });
}
