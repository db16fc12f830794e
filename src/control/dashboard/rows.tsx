// Tables of event deliveries and audit rows, on a tenant's page and on their own pages.
import type { auditLog, events } from '../../db/schema';
import { fmt } from './layout';

export function EventRows(props: { rows: (typeof events.$inferSelect)[] }) {
  if (props.rows.length === 0) return <p class="muted">None.</p>;
  return (
    <div class="table">
      <table class="cards">
        <thead>
          <tr>
            <th>When</th>
            <th>Type</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((e) => (
            <tr>
              <td data-label="When" class="when">
                {fmt(e.createdAt)}
              </td>
              <td data-label="Type">{e.type}</td>
              <td data-label="Status">{e.status}</td>
              <td data-label="Attempts">{e.attempts}</td>
              <td data-label="Last error">{e.lastError ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AuditRows(props: { rows: (typeof auditLog.$inferSelect)[] }) {
  if (props.rows.length === 0) return <p class="muted">None.</p>;
  return (
    <div class="table">
      <table class="cards audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Actor</th>
            <th>Change</th>
            <th>Request</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((a) => (
            <tr>
              <td data-label="When" class="when">
                {fmt(a.at)}
              </td>
              <td data-label="Actor">
                <code>{a.actor}</code>
              </td>
              <td data-label="Change">
                {a.resource} <code>{a.resourceId}</code> {a.action}
              </td>
              <td data-label="Request">
                <code class="muted">{a.requestId ?? '—'}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
