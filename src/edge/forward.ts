import { signForwardedRequest } from '../core/crypto/signing';
import { buildForwardHeaders, stripHopByHop, stripResponseHeaders } from '../core/http/headers';
import { ReplayableBody } from '../core/http/replayable-body';
import type { FieldSource } from '../core/http/request-fields';
import { joinUpstreamPath } from '../core/http/upstream-path';
import { ApiError } from '../errors';
import type { Authenticated } from './authenticate';
import type { ResolvedTenant } from './resolve';
import type { InstanceTarget } from './snapshot';

export type ForwardContext = {
  request: Request;
  /** The request's header fields, read once (core/http/request-fields). */
  fields: FieldSource;
  url: URL;
  host: string;
  requestId: string;
  resolved: ResolvedTenant;
  auth: Authenticated;
  /** An operator's request through the control API (`X-Gateway-Operator: 1`, after the client's are gone). */
  operator?: boolean;
};

// How much of a request body is kept so it can be sent again to the next upstream (see ReplayableBody).
const REPLAY_LIMIT_BYTES = 64 * 1024;

/**
 * Sends the request to the first upstream of the host's service on the instance that can be reached and
 * streams the answer back.
 * A connection failure moves on to the next upstream; `timeout_ms` bounds the wait for an answer's headers
 * over all attempts (a slow body after that is the client's to wait for).
 */
export async function forwardToInstance(fc: ForwardContext): Promise<Response> {
  const { request, fields, resolved, auth } = fc;
  const { snapshot, instance, service } = resolved;
  const secret = service.signingSecret;
  const injected = snapshot.injectedHeaders;
  if (secret === null || injected === null) throw unavailable(instance);
  const pathAndQuery = fc.url.pathname + fc.url.search;
  const webSocket = fields.get('upgrade')?.toLowerCase() === 'websocket';
  const timestamp = Math.floor(Date.now() / 1000);
  const keyId = auth.key?.id ?? null;

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), service.timeoutMs);
  // One upstream: the client's body goes straight through. Several: each attempt can replay it.
  const replayable =
    request.body && service.upstreams.length > 1
      ? new ReplayableBody(request.body, REPLAY_LIMIT_BYTES)
      : null;
  const contentLength = Number(fields.get('content-length') ?? Number.NaN);
  let headers!: Headers;
  let signedPath: string | null = null;
  try {
    for (const target of service.upstreams) {
      const upstreamPath = joinUpstreamPath(target.basePath, pathAndQuery);
      if (upstreamPath === null) throw new ApiError('bad_request', 'The path is not allowed');
      // Signed once; again only when a later upstream has another base path.
      if (upstreamPath !== signedPath) {
        const signature = await signForwardedRequest(secret, {
          timestamp,
          method: request.method,
          host: fc.host,
          pathAndQuery: upstreamPath,
          tenantId: snapshot.record.id,
          keyId,
        });
        if (signedPath === null) {
          headers = buildForwardHeaders(fields, {
            clientIp: fields.get('cf-connecting-ip'),
            host: fc.host,
            proto: fc.url.protocol === 'https:' ? 'https' : 'http',
            requestId: fc.requestId,
            tenantId: snapshot.record.id,
            tenantSlug: snapshot.record.slug,
            schemaName: snapshot.record.schema_name,
            instance: instance.name,
            service: service.name,
            keyId,
            scopes: auth.key?.scopes ?? [],
            timestamp,
            signature,
            credentialHeader: auth.credential?.header ?? null,
            injected,
            keepUpgrade: webSocket,
          });
          if (fc.operator) headers.set('x-gateway-operator', '1');
        } else {
          headers.set('x-gateway-signature', signature);
        }
        signedPath = upstreamPath;
      }
      let body: ReadableStream | null = request.body;
      if (replayable) {
        body = replayable.attempt();
        // A stream made here has no length of its own; keep the client's Content-Length rather than chunking.
        if (Number.isSafeInteger(contentLength))
          body = body.pipeThrough(new FixedLengthStream(contentLength));
      }
      let upstream: Response;
      try {
        upstream = await fetch(target.origin + upstreamPath, {
          method: request.method,
          headers,
          body,
          redirect: 'manual',
          signal: deadline.signal,
        });
      } catch {
        if (deadline.signal.aborted) {
          throw new ApiError('upstream_timeout', `Instance ${instance.name} did not answer in time`);
        }
        // A body that was read further than it can be replayed is not sent again.
        if (replayable && !replayable.replayable) break;
        continue;
      }
      replayable?.commit();
      return relay(upstream, fc.requestId, webSocket);
    }
    replayable?.cancel();
    throw unavailable(instance);
  } finally {
    clearTimeout(timer);
  }
}

function relay(upstream: Response, requestId: string, webSocket: boolean): Response {
  if (upstream.webSocket) {
    const headers = stripResponseHeaders(upstream.headers, { keepUpgrade: webSocket });
    headers.set('x-request-id', requestId);
    return new Response(null, { status: 101, webSocket: upstream.webSocket, headers });
  }
  // The runtime copies the upstream's fields (every Set-Cookie apart) in one call; only what is hop-by-hop
  // is then taken out.
  const response = new Response(upstream.body, upstream);
  stripHopByHop(response.headers, { keepUpgrade: webSocket });
  response.headers.set('x-request-id', requestId);
  return response;
}

function unavailable(instance: InstanceTarget) {
  return new ApiError('upstream_unavailable', `Instance ${instance.name} is unreachable`);
}
