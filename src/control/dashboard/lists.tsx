// The dashboard's other pages: instances (services and their upstreams, hooks, capacity: tenants placed of
// max_tenants, draining), event deliveries (pending and failed, with their last error) and the audit log
// (newest first, by tenant).
import { asc, desc, eq, inArray } from 'drizzle-orm';
import type { Hono } from 'hono';
import { DEFAULT_SERVICE } from '../../core/http/host';
import { type InstanceView, selectInstanceViews } from '../../db/instances';
import { auditLog, events, instances } from '../../db/schema';
import { useDatabase } from '../../request-database';
import { DashboardLayout } from './layout';
import { AuditRows, EventRows } from './rows';
import type { DashboardEnv } from './session';

function Capacity(props: { count: number; max: number | null }) {
  if (props.max === null) return <span>{props.count} tenants · no limit</span>;
  return (
    <span>
      <meter min={0} max={Math.max(props.max, 1)} value={props.count} high={props.max * 0.8}>
        {props.count} of {props.max}
      </meter>{' '}
      {props.count} / {props.max} tenants
    </span>
  );
}

function Services(props: { instance: InstanceView['instance'] }) {
  const { instance } = props;
  const all = [
    [DEFAULT_SERVICE, { upstreams: instance.upstreams, timeout_ms: instance.timeoutMs }] as const,
    ...Object.entries(instance.services).sort(([a], [b]) => (a < b ? -1 : 1)),
  ];
  return (
    <dl>
      {all.map(([name, service]) => (
        <>
          <dt>{name}</dt>
          <dd>
            {service.upstreams.map((u) => (
              <div>
                <code>{u}</code>
              </div>
            ))}
            <span class="muted">{service.timeout_ms} ms</span>
          </dd>
        </>
      ))}
    </dl>
  );
}

export function registerDashboardLists(app: Hono<DashboardEnv>) {
  app.get('/instances', async (c) => {
    const db = await useDatabase(c);
    const rows = await selectInstanceViews(db).orderBy(asc(instances.name));
    return c.html(
      <DashboardLayout c={c} title="Instances">
        <h1>Instances</h1>
        <section id="instances">
          <div class="table">
            <table class="cards">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Services</th>
                  <th>Hooks</th>
                  <th>Capacity</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ instance: i, tenantCount }) => (
                  <tr data-instance={i.name}>
                    <td data-label="Name">
                      {i.name} {i.draining ? <span class="badge draining">draining</span> : null}
                    </td>
                    <td data-label="Services">
                      <Services instance={i} />
                    </td>
                    <td data-label="Hooks">{i.hooksUrl ? <code>{i.hooksUrl}</code> : '—'}</td>
                    <td data-label="Capacity" class="capacity">
                      <Capacity count={tenantCount} max={i.maxTenants} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </DashboardLayout>,
    );
  });

  app.get('/events', async (c) => {
    const db = await useDatabase(c);
    const rows = await db
      .select()
      .from(events)
      .where(inArray(events.status, ['pending', 'failed']))
      .orderBy(desc(events.seq))
      .limit(100);
    return c.html(
      <DashboardLayout c={c} title="Events">
        <h1>Event deliveries</h1>
        <section id="event-list">
          <p class="muted">Pending and failed lifecycle hook deliveries, newest first.</p>
          <EventRows rows={rows} />
        </section>
      </DashboardLayout>,
    );
  });

  app.get('/audit', async (c) => {
    const db = await useDatabase(c);
    const tenant = c.req.query('tenant');
    const rows = await db
      .select()
      .from(auditLog)
      .where(tenant ? eq(auditLog.tenantId, tenant) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(100);
    return c.html(
      <DashboardLayout c={c} title="Audit log">
        <h1>Audit log</h1>
        <section id="audit-list">
          <AuditRows rows={rows} />
        </section>
      </DashboardLayout>,
    );
  });
}
