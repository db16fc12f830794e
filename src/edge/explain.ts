// Why a request would be answered as it would (DESIGN.md `GET /v1/tenants/:tenant/explain`), decided by the
// data plane's own steps: the host resolved as a request's is, the status rules, authRequirement/checkKey of
// ./authenticate, the counters of ./limit and the gate's own counts (peeked, nothing spent).

import { defaultBaseDomain, matchTenantHost } from '../core/http/host';
import { joinUpstreamPath } from '../core/http/upstream-path';
import type { CounterState } from '../core/limits/gate-ledger';
import { now as clockNow } from '../core/time/clock';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import { authRequirement, checkKey, checkScope } from './authenticate';
import { configuredBaseDomains } from './base-domains';
import { confirmFreshness } from './freshness';
import { requestCounters } from './limit';
import { type ResolvedTenant, resolveTenantFromHost } from './resolve';
import type { KeyEntry } from './snapshot';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

export type ExplainQuery = {
  tenantId: string;
  tenantSlug: string;
  method: string;
  /** Path and query as the client would send them. */
  path: string;
  /** Normalised; default `{slug}.{base}`, `{base}` the first base domain of the `default` service. */
  host: string | null;
  /** A key of this tenant (the caller checked it is one), or none for a request without a key. */
  keyId: string | null;
};

export type Explanation = {
  tenant_id: string;
  host: string;
  instance: string | null;
  /** The instance's service the host reaches. */
  service: string | null;
  upstream_url: string | null;
  status: string | null;
  auth: { mode: string; public_path: boolean; key_optional: boolean; required_scope: string } | null;
  key: { id: string; valid: boolean; scopes: string[]; expires_at: string | null } | null;
  limits: { counter: string; kind: string; limit: number; used: number; reset_seconds: number }[];
  /** `forward`, or the error code the request would get. */
  decision: string;
};

export async function explainRequest(env: Bindings, ctx: WaitUntil, q: ExplainQuery): Promise<Explanation> {
  const bases = configuredBaseDomains(env);
  const base = defaultBaseDomain(bases.listed)?.domain;
  const host = q.host ?? (base ? `${q.tenantSlug}.${base}` : q.tenantSlug);
  const out: Explanation = {
    tenant_id: q.tenantId,
    host,
    instance: null,
    service: null,
    upstream_url: null,
    status: null,
    auth: null,
    key: null,
    limits: [],
    decision: 'forward',
  };
  let resolved: ResolvedTenant;
  try {
    await confirmFreshness(env, ctx);
    resolved = await resolveTenantFromHost(env, ctx, matchTenantHost(host, bases.byLength));
  } catch (err) {
    if (err instanceof ApiError) return { ...out, decision: err.code };
    throw err;
  }
  const { snapshot, instance, service } = resolved;
  // A host of another tenant tells nothing of that tenant: it is no host of this one.
  if (snapshot.record.id !== q.tenantId) return { ...out, decision: 'unknown_host' };
  const target = service.upstreams[0];
  const upstreamPath = target ? joinUpstreamPath(target.basePath, q.path) : null;
  out.instance = instance.name;
  out.service = service.name;
  out.upstream_url = target && upstreamPath ? target.origin + upstreamPath : null;
  out.status = snapshot.record.status;
  const decide = (code: string) => {
    if (out.decision === 'forward') out.decision = code;
  };
  if (snapshot.record.status === 'suspended') decide('tenant_suspended');
  if (snapshot.record.status === 'pending') decide('tenant_not_installed');

  const pathOnly = q.path.split('?')[0];
  const need = authRequirement(snapshot, q.method, pathOnly);
  out.auth = {
    mode: need.mode,
    public_path: need.publicPath,
    key_optional: need.keyOptional,
    required_scope: need.scope,
  };
  let key: KeyEntry | null = null;
  if (need.mode !== 'none') {
    // The snapshot holds usable keys only: a revoked or expired key of the tenant is not among them.
    const entry = q.keyId === null ? undefined : [...snapshot.keys.values()].find((k) => k.id === q.keyId);
    if (q.keyId !== null) {
      out.key = {
        id: q.keyId,
        valid: entry !== undefined,
        scopes: entry?.scopes ?? [],
        expires_at: entry?.expiresAt ? new Date(entry.expiresAt).toISOString() : null,
      };
      try {
        const valid = checkKey(entry, clockNow());
        if (!need.keyOptional) checkScope(valid, need.scope);
        key = valid;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === 'invalid_api_key') out.key.valid = false;
        decide(err.code);
      }
    } else if (!need.keyOptional) decide('missing_api_key');
  }

  const counters = requestCounters(snapshot, key);
  if (counters.specs.length > 0) {
    const gate = env.TENANT_GATE.get(env.TENANT_GATE.idFromName(q.tenantId));
    const states: CounterState[] = await gate.peek(counters.specs);
    out.limits = states.map((s) => ({
      counter: s.counter,
      kind: s.kind,
      limit: s.limit,
      used: s.used,
      reset_seconds: Math.ceil(s.resetMs / 1000),
    }));
    // Tokens handed out may still sit unspent in an isolate's wallet, so a full counter is the gate's word
    // that no new lease would be granted: the day's quota named first, as the data plane does.
    const full = states.filter((s) => s.used >= s.limit);
    if (full.some((s) => s.kind === 'day')) decide('quota_exceeded');
    else if (full.length > 0) decide('rate_limited');
  }
  return out;
}
