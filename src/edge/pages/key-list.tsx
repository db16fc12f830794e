// The console's list of keys: each key's scopes, own limit, expiry, its requests of the last 30 days and when
// it was last used; on a phone every row is a card (style.ts, `table.cards`).
import { now as clockNow } from '../../core/time/clock';
import type { RateLimit } from '../../db/schema';
import type { KeyRow } from './keys';

const plain = new Intl.NumberFormat('en');

export function fmt(date: Date | null) {
  return date ? date.toISOString().slice(0, 16).replace('T', ' ') : '—';
}

export function keyState(key: KeyRow): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= clockNow()) return 'expired';
  return 'active';
}

export function limitSummary(limit: RateLimit | null) {
  const parts = [
    limit?.requests_per_minute != null ? `${plain.format(limit.requests_per_minute)}/min` : null,
    limit?.requests_per_day != null ? `${plain.format(limit.requests_per_day)}/day` : null,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'tenant’s';
}

/** Keys whose name or prefix holds `q` (case-insensitive); all of them without one. */
export function filterKeys(keys: KeyRow[], q: string) {
  const needle = q.trim().toLowerCase();
  if (!needle) return keys;
  return keys.filter((k) => k.name.toLowerCase().includes(needle) || k.prefix.toLowerCase().includes(needle));
}

export function KeyFilter(props: { q: string; shown: number; total: number }) {
  return (
    <form method="get" action="/_gateway/console#keys" class="row">
      <div>
        <label for="key-filter">Find a key</label>
        <input id="key-filter" name="q" type="search" value={props.q} placeholder="name or prefix" />
      </div>
      <div class="actions">
        <button type="submit" class="plain">
          Filter
        </button>
      </div>
      {props.q ? (
        <p class="muted">
          {props.shown} of {props.total} keys · <a href="/_gateway/console#keys">show all</a>
        </p>
      ) : null}
    </form>
  );
}

export type KeyUsage = { requests: number; lastDay: string | null };

/**
 * When a key was last used: its last call of the control API (`last_used_at`, to the minute) or its last day
 * of data-plane traffic (usage_key_daily, to the UTC day), whichever is later.
 */
export function lastUsed(key: KeyRow, usage: KeyUsage | undefined): string {
  const day = usage?.lastDay ?? null;
  if (day && (!key.lastUsedAt || key.lastUsedAt.toISOString().slice(0, 10) < day)) return `${day} (UTC day)`;
  return fmt(key.lastUsedAt);
}

export function KeyList(props: { keys: KeyRow[]; usage: Map<string, KeyUsage>; csrf: string }) {
  if (props.keys.length === 0) return <p class="muted">No keys.</p>;
  return (
    <div class="table">
      <table class="cards keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Scopes</th>
            <th>Limit</th>
            <th>Expires</th>
            <th class="num">Requests, 30 d</th>
            <th>Last used</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.keys.map((key) => {
            const state = keyState(key);
            return (
              <tr data-key-id={key.id}>
                <td data-label="Name">{key.name}</td>
                <td data-label="Key">
                  <code>{key.prefix}…</code>
                </td>
                <td data-label="Scopes">
                  <code>{key.scopes.join(' ')}</code>
                </td>
                <td data-label="Limit">{limitSummary(key.rateLimit)}</td>
                <td data-label="Expires" class="when">
                  {fmt(key.expiresAt)}
                </td>
                <td data-label="Requests, 30 d" class="num" data-requests>
                  {plain.format(props.usage.get(key.id)?.requests ?? 0)}
                </td>
                <td data-label="Last used" class="when">
                  {lastUsed(key, props.usage.get(key.id))}
                </td>
                <td data-label="State">
                  <span class={`badge ${state}`}>{state}</span>
                </td>
                <td data-label="">
                  {state === 'revoked' ? null : (
                    <>
                      <a href={`/_gateway/console/keys/${key.id}`} class="edit">
                        Edit
                      </a>{' '}
                      <form class="inline" method="post" action={`/_gateway/console/keys/${key.id}/rotate`}>
                        <input type="hidden" name="_csrf" value={props.csrf} />
                        <button type="submit" class="plain">
                          Rotate
                        </button>
                      </form>{' '}
                      <form class="inline" method="post" action={`/_gateway/console/keys/${key.id}/revoke`}>
                        <input type="hidden" name="_csrf" value={props.csrf} />
                        <button type="submit" class="danger">
                          Revoke
                        </button>
                      </form>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
