// The dashboard's other pages: instances (upstreams, hooks, tenants placed), event deliveries (pending and
// failed, with their last error) and the audit log (newest first, by tenant).
import { asc, count, desc, eq, inArray } from 'drizzle-orm';
import type { Hono } from 'hono';
import { auditLog, events, instances, tenantInstances } from '../../db/schema';
import { useDatabase } from '../../request-database';
import { DashboardLayout } from './layout';
import { AuditRows, EventRows } from './rows';
import type { DashboardEnv } from './session';

export function registerDashboardLists(app: Hono<DashboardEnv>) {
  app.get('/instances', async (c) => {
    const db = await useDatabase(c);
    const [rows, placed] = await Promise.all([
      db.select().from(instances).orderBy(asc(instances.name)),
      db
        .select({ instanceId: tenantInstances.instanceId, tenants: count() })
        .from(tenantInstances)
        .groupBy(tenantInstances.instanceId),
    ]);
    const counts = new Map(placed.map((p) => [p.instanceId, p.tenants]));
    return c.html(
      <DashboardLayout c={c} title="Instances">
        <h1>Instances</h1>
        <section id="instances">
          <div class="table">
            <table class="cards">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Upstreams</th>
                  <th>Timeout</th>
                  <th>Hooks</th>
                  <th class="num">Tenants</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((i) => (
                  <tr>
                    <td data-label="Name">{i.name}</td>
                    <td data-label="Upstreams">
                      {i.upstreams.map((u) => (
                        <div>
                          <code>{u}</code>
                        </div>
                      ))}
                    </td>
                    <td data-label="Timeout">{i.timeoutMs} ms</td>
                    <td data-label="Hooks">{i.hooksUrl ? <code>{i.hooksUrl}</code> : '—'}</td>
                    <td data-label="Tenants" class="num">
                      {counts.get(i.id) ?? 0}
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
