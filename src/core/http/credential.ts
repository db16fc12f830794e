// An API key as a request carries it: the data plane and the control API read it alike.

import type { FieldLookup } from './request-fields';

export type Credential = { secret: string; header: 'authorization' | 'x-api-key' };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Keys come from headers only, never from the query string. */
export function readCredential(headers: FieldLookup): Credential | null {
  const authorization = headers.get('authorization');
  if (authorization) {
    const match = BEARER.exec(authorization);
    if (match) return { secret: match[1], header: 'authorization' };
  }
  const apiKey = headers.get('x-api-key')?.trim();
  if (apiKey) return { secret: apiKey, header: 'x-api-key' };
  return null;
}
