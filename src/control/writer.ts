// The control routes' writer for tenancy's writes: the request's database and actor, and the data plane's
// `tenantChanged` to call after commit.
import type { Context } from 'hono';
import { tenantChanged } from '../edge';
import type { AppEnv } from '../env';
import { type Writer, writerOf } from '../tenancy/writer';

export function writer(c: Context<AppEnv>): Promise<Writer> {
  return writerOf(c, tenantChanged);
}
