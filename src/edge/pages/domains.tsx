// The tenant's custom domains from the console: listed with the instance each is served from, added (checked
// by the control API's own rules) and removed, through tenancy's domain writes.
import { asc, eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { domains } from '../../db/schema';
import { ApiError } from '../../errors';
import { useDatabase } from '../../request-database';
import { checkCustomDomain } from '../../tenancy/custom-domain';
import { type DomainRow, selectDomains } from '../../tenancy/domain-schemas';
import { addDomain, removeDomain } from '../../tenancy/domains';
import { writerOf } from '../../tenancy/writer';
import { tenantChanged } from '../tenant-changed';
import { checkCsrf } from './csrf';
import { type PageEnv, tenantOf } from './env';
import { fmt } from './key-list';
import { Layout } from './layout';
import { ConsoleNav } from './nav';
import { loadSession, requireSession } from './session';

export async function tenantDomains(c: Context<PageEnv>): Promise<DomainRow[]> {
  const db = await useDatabase(c);
  return db
    .select(selectDomains())
    .from(domains)
    .where(eq(domains.tenantId, tenantOf(c).id))
    .orderBy(asc(domains.hostname));
}

export function DomainsSection(props: {
  domains: DomainRow[];
  home: string | null;
  placements: string[];
  csrf: string;
  error?: string;
  hostname?: string;
}) {
  return (
    <section id="domains">
      <h2>Custom domains</h2>
      {props.domains.length === 0 ? (
        <p class="muted">None yet: the tenant is reached on its gateway hosts only.</p>
      ) : (
        <div class="table">
          <table class="cards">
            <thead>
              <tr>
                <th>Hostname</th>
                <th>Instance</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {props.domains.map((d) => (
                <tr data-hostname={d.hostname}>
                  <td data-label="Hostname">
                    <code>{d.hostname}</code>
                  </td>
                  <td data-label="Instance">{d.instance ?? `${props.home ?? '—'} (home)`}</td>
                  <td data-label="Added" class="when">
                    {fmt(d.createdAt)}
                  </td>
                  <td data-label="">
                    <form class="inline" method="post" action="/_gateway/console/domains/remove">
                      <input type="hidden" name="_csrf" value={props.csrf} />
                      <input type="hidden" name="hostname" value={d.hostname} />
                      <button type="submit" class="danger">
                        Remove
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form method="post" action="/_gateway/console/domains" id="new-domain">
        <input type="hidden" name="_csrf" value={props.csrf} />
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <div class="row">
          <div>
            <label for="domain-hostname">Hostname</label>
            <input
              id="domain-hostname"
              name="hostname"
              type="text"
              required
              maxlength={253}
              value={props.hostname}
              placeholder="api.example.com"
            />
          </div>
          <div>
            <label for="domain-instance">Served from</label>
            <select id="domain-instance" name="instance">
              <option value="">home instance ({props.home ?? '—'})</option>
              {props.placements.map((name) => (
                <option value={name}>{name}</option>
              ))}
            </select>
          </div>
          <div class="actions">
            <button type="submit">Add domain</button>
          </div>
        </div>
        <p class="muted">Point the hostname's DNS at the gateway (a CNAME to one of the tenant's hosts).</p>
      </form>
    </section>
  );
}

function DomainErrorPage(props: { c: Context<PageEnv>; rows: DomainRow[]; error: string; hostname: string }) {
  const { c } = props;
  const tenant = tenantOf(c);
  return (
    <Layout
      title="Custom domains"
      nonce={c.get('secureHeadersNonce') ?? ''}
      tenantName={tenant.name}
      nav={<ConsoleNav c={c} />}
    >
      <h1>Custom domains</h1>
      <DomainsSection
        domains={props.rows}
        home={tenant.home_instance}
        placements={tenant.instances.map((i) => i.name)}
        csrf={c.get('session')!.csrf}
        error={props.error}
        hostname={props.hostname}
      />
    </Layout>
  );
}

const field = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === 'string' ? (body[name] as string) : '';

export function registerDomains(app: Hono<PageEnv>) {
  const guard = [loadSession, requireSession, checkCsrf] as const;

  app.post('/_gateway/console/domains', ...guard, async (c) => {
    const body = await c.req.parseBody();
    const raw = field(body, 'hostname');
    const check = checkCustomDomain(raw, c.env);
    const fail = async (error: string, status: 409 | 422) =>
      c.html(<DomainErrorPage c={c} rows={await tenantDomains(c)} error={error} hostname={raw} />, status);
    if (!check.ok) return fail(`hostname: ${check.message}`, 422);
    try {
      await addDomain(await writerOf(c, tenantChanged), tenantOf(c).id, {
        hostname: check.hostname,
        instance: field(body, 'instance') || null,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'conflict') return fail(`${check.hostname} is already in use`, 409);
      if (err.code === 'validation_failed')
        return fail(err.details?.map((d) => d.message).join('; ') ?? err.message, 422);
      throw err;
    }
    return c.redirect('/_gateway/console#domains', 303);
  });

  app.post('/_gateway/console/domains/remove', ...guard, async (c) => {
    const hostname = field(await c.req.parseBody(), 'hostname');
    await removeDomain(await writerOf(c, tenantChanged), tenantOf(c).id, hostname);
    return c.redirect('/_gateway/console#domains', 303);
  });
}
