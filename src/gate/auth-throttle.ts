// The TenantGate's side of the install-token, recovery-link and console sign-in back-off (arithmetic in
// core/limits/throttle): counters per client and per tenant in the gate's own SQLite storage, so they hold
// across isolates.

import {
  type Admission,
  admitAttempt,
  afterSuccess,
  CLIENT_POLICY,
  currentCounter,
  TENANT_POLICY,
  type ThrottleCounter,
  type ThrottlePolicy,
} from '../core/limits/throttle';
import { waitMs } from '../core/time/clock';

export type AuthScope = 'install' | 'sign-in' | 'recovery';

const TENANT = '*';
const ready = new WeakSet<SqlStorage>();

/** The client and tenant policies with this isolate's waits (scaled in tests, core/time/clock). */
export function throttlePolicies(): { client: ThrottlePolicy; tenant: ThrottlePolicy } {
  const waits = {
    baseDelayMs: waitMs('throttleBaseDelay'),
    maxDelayMs: waitMs('throttleMaxDelay'),
    forgetAfterMs: waitMs('throttleForgetAfter'),
  };
  return { client: { ...CLIENT_POLICY, ...waits }, tenant: { ...TENANT_POLICY, ...waits } };
}

function table(sql: SqlStorage): SqlStorage {
  if (!ready.has(sql)) {
    sql.exec(`create table if not exists auth_throttle (
      scope text not null, client text not null, failures integer not null, next_at integer not null,
      last_at integer not null, primary key (scope, client))`);
    sql.exec('create index if not exists auth_throttle_last_at on auth_throttle (last_at)');
    ready.add(sql);
  }
  return sql;
}

function read(sql: SqlStorage, scope: AuthScope, client: string): ThrottleCounter | undefined {
  const [row] = sql
    .exec<{ failures: number; next_at: number; last_at: number }>(
      'select failures, next_at, last_at from auth_throttle where scope = ? and client = ?',
      scope,
      client,
    )
    .toArray();
  return row && { failures: row.failures, nextAt: row.next_at, lastAt: row.last_at };
}

function write(sql: SqlStorage, scope: AuthScope, client: string, counter: ThrottleCounter) {
  sql.exec(
    `insert into auth_throttle (scope, client, failures, next_at, last_at) values (?, ?, ?, ?, ?)
     on conflict (scope, client) do update set failures = excluded.failures, next_at = excluded.next_at,
     last_at = excluded.last_at`,
    scope,
    client,
    counter.failures,
    counter.nextAt,
    counter.lastAt,
  );
}

/**
 * Counts an attempt against the client and the tenant and says how long it must wait before it is checked
 * (or that it is refused). Synchronous storage calls only, so concurrent attempts never interleave.
 */
export function admitAuthAttempt(sql: SqlStorage, scope: AuthScope, client: string, now: number): Admission {
  table(sql);
  const policy = throttlePolicies();
  // Counters nobody touched for a while are forgotten anyway: drop them so many clients do not pile up.
  sql.exec(
    'delete from auth_throttle where last_at < ? and next_at < ?',
    now - policy.client.forgetAfterMs,
    now,
  );
  const admission = admitAttempt(
    [
      { counter: read(sql, scope, client), policy: policy.client },
      { counter: read(sql, scope, TENANT), policy: policy.tenant },
    ],
    now,
  );
  if (admission.admitted) {
    write(sql, scope, client, admission.counters[0]);
    write(sql, scope, TENANT, admission.counters[1]);
  }
  return admission;
}

/** The attempt was right: the client starts afresh and the tenant's up-front failure is taken back. */
export function recordAuthSuccess(sql: SqlStorage, scope: AuthScope, client: string, now: number) {
  table(sql);
  sql.exec('delete from auth_throttle where scope = ? and client = ?', scope, client);
  const tenant = read(sql, scope, TENANT);
  if (tenant) write(sql, scope, TENANT, afterSuccess(currentCounter(tenant, now, throttlePolicies().tenant)));
}
