// One delivery attempt of a lifecycle event: a signed POST to the instance's hooks_url.

import { signForwardedRequest } from '../core/crypto/signing';
import { normalizeHost } from '../core/http/host';

const HOOK_TIMEOUT_MS = 10_000;
const MAX_ERROR_LENGTH = 500;

export type HookEvent = { id: string; type: string; tenantId: string; payload: unknown };

/**
 * Signed like a forwarded request (method POST, the hook URL's host without port and its path and query,
 * key id `-`). Answers null when the receiver took it (any 2xx), else why not, for `last_error`.
 */
export async function sendHook(
  hooksUrl: string,
  signingSecret: string,
  event: HookEvent,
): Promise<string | null> {
  const url = new URL(hooksUrl);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = await signForwardedRequest(signingSecret, {
    timestamp,
    method: 'POST',
    host: normalizeHost(url.host) ?? url.hostname,
    pathAndQuery: url.pathname + url.search,
    tenantId: event.tenantId,
    keyId: null,
  });
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'tenant-gateway-hooks/1',
        'x-gateway-timestamp': String(timestamp),
        'x-gateway-signature': signature,
        'x-gateway-event-id': event.id,
        'x-gateway-event-type': event.type,
      },
      body: JSON.stringify(event.payload),
      // A redirect is an answer we do not follow: the event counts as not delivered.
      redirect: 'manual',
      signal: AbortSignal.timeout(HOOK_TIMEOUT_MS),
    });
  } catch (err) {
    const reason =
      err instanceof Error && err.name === 'TimeoutError'
        ? `no answer within ${HOOK_TIMEOUT_MS} ms`
        : String(err);
    return reason.slice(0, MAX_ERROR_LENGTH);
  }
  await response.body?.cancel();
  if (response.status >= 200 && response.status < 300) return null;
  return `HTTP ${response.status}`;
}
