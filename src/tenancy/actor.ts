import type { Context } from 'hono';
import type { Actor } from '../core/tenancy/actor';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

/** Who makes this request's changes: set by control's `authenticate`, or by the console's session. */
export function actorOf(c: Context<AppEnv>): Actor {
  const actor = c.get('actor');
  if (!actor) throw new ApiError('missing_api_key', 'An API key is required');
  return actor;
}
