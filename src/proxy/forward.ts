import { buildForwardHeaders, stripResponseHeaders } from '../core/headers';
import { signForwardedRequest } from '../core/signing';
import { ApiError } from '../errors';
import type { Authenticated } from './authenticate';
import type { ResolvedTenant } from './resolve';

export type ForwardContext = {
  request: Request;
  url: URL;
  host: string;
  requestId: string;
  resolved: ResolvedTenant;
  auth: Authenticated;
};

/** Streams the request to the tenant's instance and the answer back; never buffers a body. */
export async function forwardToInstance(fc: ForwardContext): Promise<Response> {
  const { request, url, resolved, auth } = fc;
  const { snapshot, instance } = resolved;
  const pathAndQuery = url.pathname + url.search;
  const timestamp = Math.floor(Date.now() / 1000);
  const keyId = auth.key?.id ?? null;
  const signature = await signForwardedRequest(instance.signingSecret, {
    timestamp,
    method: request.method,
    host: fc.host,
    pathAndQuery,
    tenantId: snapshot.record.id,
    keyId,
  });
  const headers = buildForwardHeaders(request.headers, {
    clientIp: request.headers.get('cf-connecting-ip'),
    host: fc.host,
    proto: url.protocol === 'https:' ? 'https' : 'http',
    requestId: fc.requestId,
    tenantId: snapshot.record.id,
    tenantSlug: snapshot.record.slug,
    schemaName: snapshot.record.schema_name,
    instance: instance.name,
    keyId,
    scopes: auth.key?.scopes ?? [],
    timestamp,
    signature,
    credentialHeader: auth.credential?.header ?? null,
  });
  const upstream = await fetch(instance.upstreams[0] + pathAndQuery, {
    method: request.method,
    headers,
    body: request.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(instance.timeoutMs),
  }).catch((err: unknown) => {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new ApiError(504, 'upstream_timeout', `Instance ${instance.name} did not answer in time`);
    }
    throw new ApiError(502, 'upstream_unavailable', `Instance ${instance.name} is unreachable`);
  });
  const responseHeaders = stripResponseHeaders(upstream.headers);
  responseHeaders.set('x-request-id', fc.requestId);
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}
