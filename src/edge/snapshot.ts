import { unseal } from '../core/crypto/seal';
import { DEFAULT_SERVICE } from '../core/http/host';
import { logError } from '../core/http/log';
import { splitUpstreamBase } from '../core/http/upstream-path';
import { type CompiledRoutes, compileRoutes, isValidScope } from '../core/tenancy/scopes';
import type { RateLimit } from '../db/schema';
import type { TenantRecord } from '../db/snapshot-query';

/** `origin` for fetch; `basePath` (no trailing slash) is what the upstream sees before the client's path. */
export type UpstreamTarget = { origin: string; basePath: string };
/**
 * One service of an instance: `default` (the instance's own upstreams, or the tenant's own backend) or one of
 * its `services`, with the secret its requests are signed with.
 */
export type ServiceTarget = {
  name: string;
  upstreams: UpstreamTarget[];
  timeoutMs: number;
  /** Null when it cannot be unsealed (SEALING_KEY changed): such a service answers 502. */
  signingSecret: string | null;
};
export type InstanceTarget = {
  id: string;
  name: string;
  /** By service name, `default` always among them. */
  services: Map<string, ServiceTarget>;
};
/** A custom domain's instance (null: the home) and service. */
export type DomainTarget = { instance: string | null; service: string };
export type KeyEntry = {
  id: string;
  scopes: string[];
  expiresAt: number | null;
  rateLimit: RateLimit | null;
};

/** A tenant compiled for the hot path: maps instead of arrays, route rules compiled, secrets unsealed. */
export type TenantSnapshot = {
  record: TenantRecord;
  instances: Map<string, InstanceTarget>;
  domains: Map<string, DomainTarget>;
  /** By SHA-256 hex of the secret. */
  keys: Map<string, KeyEntry>;
  /**
   * Secrets this isolate has already matched to a key of `keys`, so a warm key skips the SHA-256. Only
   * matches are kept (never a wrong secret), so it holds at most one entry per key; it lives and dies with
   * the snapshot, so a revoked or rotated key's secret goes with the snapshot that held it.
   */
  keysBySecret: Map<string, KeyEntry>;
  routes: CompiledRoutes;
  /**
   * The tenant's injected headers, opened once here so a request only appends them; null when one cannot be
   * opened (SEALING_KEY changed): the tenant's requests then answer 502 rather than go without it.
   */
  injectedHeaders: readonly (readonly [string, string])[] | null;
};

async function openInjectedHeaders(
  record: TenantRecord,
  sealingKey: string,
): Promise<[string, string][] | null> {
  const opened: [string, string][] = [];
  // A record cached before the column existed has none.
  for (const [name, header] of Object.entries(record.inject_headers ?? {})) {
    const value = await unseal(header.sealed, sealingKey).catch(() => null);
    if (value === null) {
      logError({ at: 'snapshot', tenant_id: record.id, code: 'cannot_unseal' });
      return null;
    }
    opened.push([name, value]);
  }
  return opened;
}

function serviceTarget(
  name: string,
  s: { upstreams: string[]; timeout_ms: number },
  signingSecret: string | null,
): ServiceTarget {
  return { name, upstreams: s.upstreams.map(splitUpstreamBase), timeoutMs: s.timeout_ms, signingSecret };
}

export async function compileSnapshot(
  record: TenantRecord,
  sealingKey: string | undefined,
): Promise<TenantSnapshot> {
  const openSecret = (instance: TenantRecord['instances'][number]) =>
    unseal(instance.signing_secret_sealed, sealingKey ?? '').catch(() => {
      logError({ at: 'snapshot', instance: instance.name, code: 'cannot_unseal' });
      return null;
    });
  const secrets = new Map<string, string | null>();
  for (const instance of record.instances) secrets.set(instance.name, await openSecret(instance));
  // A tenant with a backend of its own is sent there from every instance it is placed on, signed with its
  // home instance's secret (the one its backend is given).
  const own = record.upstream ?? null;
  const homeSecret = secrets.get(record.home_instance ?? '') ?? null;
  const instances = new Map<string, InstanceTarget>();
  for (const instance of record.instances) {
    const secret = secrets.get(instance.name) ?? null;
    // The tenant's own backend replaces the `default` service only; the instance's other services stay.
    const services = new Map<string, ServiceTarget>([
      [
        DEFAULT_SERVICE,
        own
          ? serviceTarget(DEFAULT_SERVICE, own, homeSecret)
          : serviceTarget(DEFAULT_SERVICE, instance, secret),
      ],
    ]);
    for (const [name, service] of Object.entries(instance.services ?? {})) {
      services.set(name, serviceTarget(name, service, secret));
    }
    instances.set(instance.name, {
      id: instance.id,
      name: instance.name,
      services,
    });
  }
  return {
    record,
    instances,
    domains: new Map(
      record.domains.map((d) => [
        d.hostname,
        { instance: d.instance, service: d.service ?? DEFAULT_SERVICE },
      ]),
    ),
    keys: new Map(
      record.keys.map((k) => [
        k.hash,
        {
          id: k.id,
          // Every writer validates scopes; one stored some other way (by hand in SQL) grants nothing and is
          // not forwarded, so it can neither break X-Gateway-Scopes nor, holding a space, pose as two.
          scopes: k.scopes.filter(isValidScope),
          expiresAt: k.expires_at ? Date.parse(k.expires_at) : null,
          rateLimit: k.rate_limit,
        },
      ]),
    ),
    keysBySecret: new Map(),
    routes: compileRoutes(record.routes),
    injectedHeaders: await openInjectedHeaders(record, sealingKey ?? ''),
  };
}
