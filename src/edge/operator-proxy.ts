// Operator access to a tenant's backend (DESIGN.md: `ANY /v1/tenants/:tenant/proxy/*`): forwarded as a
// data-plane request of the tenant would be, on the same snapshot and the same forwarding code, but as the
// operator: `X-Gateway-Key-Id: op:{key id}` inside the signed string, `X-Gateway-Operator: 1`, no limits.
import { readCredential } from '../core/http/credential';
import { defaultBaseDomain, matchTenantHost } from '../core/http/host';
import { RequestFields } from '../core/http/request-fields';
import type { Bindings } from '../env';
import { ApiError } from '../errors';
import { configuredBaseDomains } from './base-domains';
import { forwardToInstance } from './forward';
import { confirmFreshness } from './freshness';
import { resolveTenantFromHost } from './resolve';

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

export type OperatorRequest = {
  request: Request;
  /** The tenant's slug: its request goes to `{slug}.{base}`, its home instance's `default` service. */
  tenantSlug: string;
  operator: { id: string; scopes: readonly string[] };
  /** What the backend sees: the path after `/proxy`, with the query. */
  pathAndQuery: string;
  requestId: string;
};

/** The tenant's backend's answer to an operator's request, streamed back as the data plane does. */
export async function forwardAsOperator(
  env: Bindings,
  ctx: WaitUntil,
  op: OperatorRequest,
): Promise<Response> {
  const base = defaultBaseDomain(configuredBaseDomains(env).listed);
  if (base === undefined)
    throw new ApiError('unknown_host', 'BASE_DOMAINS is empty: no tenant host to act as');
  const host = `${op.tenantSlug}.${base.domain}`;
  await confirmFreshness(env, ctx);
  const resolved = await resolveTenantFromHost(env, ctx, matchTenantHost(host, [base]));
  const url = new URL(op.pathAndQuery, op.request.url);
  const fields = new RequestFields(op.request.headers);
  return forwardToInstance({
    request: op.request,
    fields,
    url,
    host,
    requestId: op.requestId,
    resolved,
    auth: {
      key: { id: `op:${op.operator.id}`, scopes: [...op.operator.scopes], expiresAt: null, rateLimit: null },
      // The header that carried the operator's key is not forwarded, as a tenant key's is not.
      credential: readCredential(fields),
    },
    operator: true,
  });
}
