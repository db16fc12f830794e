// Custom domain writes: add and remove. Each bumps the tenant's version and writes its audit row in its own
// transaction (`runWrite`) and, once committed, tells the writer's `tenantChanged`.
import { and, eq } from 'drizzle-orm';
import { DEFAULT_SERVICE } from '../core/http/host';
import { uniqueViolation } from '../db/conflict';
import type { Transaction } from '../db/queryable';
import { domains, instances, tenantInstances, tenants } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { type DomainRow, selectDomains, toDomainJson } from './domain-schemas';
import { runWrite, type Writer } from './writer';

const invalid = (path: string, message: string) =>
  new ApiError('validation_failed', 'The request is not valid', [{ path, message }]);

/** 422 unless the instance the domain is served from (its own, else the tenant's home) has the service. */
async function checkService(tx: Transaction, tenantId: string, instanceId: string | null, service: string) {
  const [target] = await tx
    .select({ name: instances.name, services: instances.services })
    .from(instances)
    .innerJoin(tenants, eq(tenants.id, tenantId))
    .where(eq(instances.id, instanceId ?? tenants.homeInstanceId));
  if (!target) throw invalid('service', 'the tenant has no home instance to serve it');
  if (!Object.hasOwn(target.services, service)) {
    throw invalid('service', `instance ${target.name} has no service named ${service}`);
  }
}

/**
 * Adds a custom domain (`hostname` already checked and normalised by the caller), served from the tenant's
 * instance named `instance` or, without one, its home, and from its `service` (default `default`); `409
 * conflict` if any tenant has it.
 */
export async function addDomain(
  w: Writer,
  tenantId: string,
  input: { hostname: string; instance?: string | null; service?: string | null },
): Promise<DomainRow> {
  return runWrite(w, async (tx, changed) => {
    let instanceId: string | null = null;
    if (input.instance) {
      const [placed] = await tx
        .select({ id: instances.id })
        .from(tenantInstances)
        .innerJoin(instances, eq(instances.id, tenantInstances.instanceId))
        .where(and(eq(tenantInstances.tenantId, tenantId), eq(instances.name, input.instance)));
      if (!placed) {
        throw invalid('instance', `tenant is not placed on an instance named ${input.instance}`);
      }
      instanceId = placed.id;
    }
    const service = input.service && input.service !== DEFAULT_SERVICE ? input.service : null;
    if (service) await checkService(tx, tenantId, instanceId, service);
    await tx.insert(domains).values({ hostname: input.hostname, tenantId, instanceId, service });
    await bumpTenantVersions(tx, [tenantId]);
    changed(tenantId);
    const [added] = await tx
      .select(selectDomains())
      .from(domains)
      .where(eq(domains.hostname, input.hostname));
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'domain',
      resourceId: added.hostname,
      action: 'create',
      after: toDomainJson(added),
    });
    return added;
  }).catch((err: unknown) => {
    if (uniqueViolation(err) !== null) throw new ApiError('conflict', 'This domain is already in use');
    throw err;
  });
}

/** Removes one of the tenant's custom domains (a normalised hostname); 404 if it has none such. */
export async function removeDomain(w: Writer, tenantId: string, hostname: string): Promise<void> {
  await runWrite(w, async (tx, changed) => {
    const [before] = await tx
      .select(selectDomains())
      .from(domains)
      .where(and(eq(domains.hostname, hostname), eq(domains.tenantId, tenantId)));
    if (!before) throw new ApiError('not_found', 'No such domain');
    await tx.delete(domains).where(eq(domains.hostname, hostname));
    await bumpTenantVersions(tx, [tenantId]);
    changed(tenantId);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'domain',
      resourceId: hostname,
      action: 'delete',
      before: toDomainJson(before),
    });
  });
}
