import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { registerAudit } from './audit';
import { registerConfig } from './config';
import { registerDocs } from './docs';
import { registerDomains } from './domains';
import { registerEvents } from './events';
import { registerExplain } from './explain';
import { registerHealth } from './health';
import { registerInstances } from './instances';
import { registerKeys } from './keys';
import { registerOperatorKeys } from './operator-keys';
import { registerRecovery } from './recovery';
import { registerSealing } from './sealing';
import { registerTenantProxy } from './tenant-proxy';
import { registerTenants } from './tenants';
import { registerUsage } from './usage';

/** Every control API route, and the OpenAPI document and reference page generated from them. */
export function registerControlRoutes(app: OpenAPIHono<AppEnv>) {
  registerHealth(app);
  registerInstances(app);
  registerTenants(app);
  registerRecovery(app);
  registerTenantProxy(app);
  registerExplain(app);
  registerDomains(app);
  registerKeys(app);
  registerOperatorKeys(app);
  registerSealing(app);
  registerUsage(app);
  registerAudit(app);
  registerEvents(app);
  registerConfig(app);
  registerDocs(app);
}
