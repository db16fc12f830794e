// The contract's forward step alone, as the gateway does it (its own functions), on top of the passthrough:
// what a proxied request must cost before any tenancy, key or limit work. `FLOOR` adds the steps in turn:
//   0  the bare passthrough (as bench/passthrough.ts)
//   1  the upstream headers: the client's, hop-by-hop and spoofable ones dropped, the 13 the gateway asserts
//   2  the request signature (HMAC-SHA256 of the signed string, key imported once)
//   3  the response re-wrapped: hop-by-hop fields dropped, X-Request-Id added
//   4  the instance's timeout: an AbortController and a timer around the fetch
// and, apart from the levels, what the upstream headers cost the runtime whoever builds them:
//   copy      the passthrough with the client's headers copied into a Headers of the worker's own
//   asserted  that copy plus the 13 fields the gateway asserts (fixed values, nothing filtered)
// `npm run bench:instructions -- floor` counts each level (bench/instructions.ts); the gateway's count minus
// level 4's is what everything else costs (routing, the snapshot, the key, limits, usage).
import { signForwardedRequest } from '../src/core/crypto/signing';
import { buildForwardHeaders, type ForwardInfo, stripHopByHop } from '../src/core/http/headers';

type FloorEnv = { UPSTREAM_URL: string; FLOOR: string };

const SECRET = 'bench-signing-secret-0123456789abcdef';
const REQUEST_ID = '01JBENCHREQUEST0000000000';
const NO_INJECTED: readonly (readonly [string, string])[] = [];
// The tenant's side of what the gateway asserts, as the bench's measured tenant has it.
const FORWARD_INFO: Omit<ForwardInfo, 'host' | 'timestamp' | 'signature' | 'clientIp'> = {
  proto: 'http',
  requestId: REQUEST_ID,
  tenantId: 'ten_bench1',
  tenantSlug: 'b1',
  schemaName: 't_b1',
  instance: 'bench',
  service: 'default',
  keyId: 'key_bench1',
  scopes: ['proxy:read', 'proxy:write'],
  credentialHeader: 'authorization',
  injected: NO_INJECTED,
};
// The 13 fields the gateway asserts, made once by its own function, with values as long as a request's.
const ASSERTED = [
  ...buildForwardHeaders(new Headers(), {
    ...FORWARD_INFO,
    clientIp: '127.0.0.1',
    host: 'b1.bench.localhost',
    timestamp: 1700000000,
    signature: 'ab'.repeat(32),
  }),
];

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    const pathAndQuery = url.pathname + url.search;
    const target = env.UPSTREAM_URL + pathAndQuery;
    if (env.FLOOR === 'copy' || env.FLOOR === 'asserted') {
      const headers = new Headers(request.headers);
      if (env.FLOOR === 'asserted') for (const [name, value] of ASSERTED) headers.append(name, value);
      return fetch(target, { method: request.method, headers, body: request.body, redirect: 'manual' });
    }
    const level = Number(env.FLOOR);
    if (level < 1) {
      return fetch(target, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
      });
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const signature =
      level >= 2
        ? await signForwardedRequest(SECRET, {
            timestamp,
            method: request.method,
            host: url.host,
            pathAndQuery,
            tenantId: 'ten_bench1',
            keyId: 'key_bench1',
          })
        : '-';
    const headers = buildForwardHeaders(request.headers, {
      ...FORWARD_INFO,
      clientIp: request.headers.get('cf-connecting-ip'),
      host: url.host,
      timestamp,
      signature,
    });
    const deadline = level >= 4 ? new AbortController() : null;
    const timer = deadline ? setTimeout(() => deadline.abort(), 30_000) : undefined;
    try {
      const upstream = await fetch(target, {
        method: request.method,
        headers,
        body: request.body,
        redirect: 'manual',
        signal: deadline?.signal,
      });
      if (level < 3) return upstream;
      const response = new Response(upstream.body, upstream);
      stripHopByHop(response.headers);
      response.headers.set('x-request-id', REQUEST_ID);
      return response;
    } finally {
      clearTimeout(timer);
    }
  },
};
