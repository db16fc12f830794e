import { unseal } from '../core/crypto/seal';
import { logError } from '../core/http/log';
import { splitUpstreamBase } from '../core/http/upstream-path';
import { type CompiledRoutes, compileRoutes, isValidScope } from '../core/tenancy/scopes';
import type { RateLimit } from '../db/schema';
import type { TenantRecord } from '../db/snapshot-query';

/** `origin` for fetch; `basePath` (no trailing slash) is what the upstream sees before the client's path. */
export type UpstreamTarget = { origin: string; basePath: string };
export type InstanceTarget = {
  id: string;
  name: string;
  upstreams: UpstreamTarget[];
  timeoutMs: number;
  /** Null when it cannot be unsealed (SEALING_KEY changed): such an instance answers 502. */
  signingSecret: string | null;
};
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
  domains: Map<string, string | null>;
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

export async function compileSnapshot(
  record: TenantRecord,
  sealingKey: string | undefined,
): Promise<TenantSnapshot> {
  const openSecret = (instance: TenantRecord['instances'][number]) =>
    unseal(instance.signing_secret_sealed, sealingKey ?? '').catch(() => {
      logError({ at: 'snapshot', instance: instance.name, code: 'cannot_unseal' });
      return null;
    });
  // A tenant with a backend of its own is sent there from every instance it is placed on, signed with its
  // home instance's secret (the one its backend is given).
  const own = record.upstream ?? null;
  const home = own && record.instances.find((i) => i.name === record.home_instance);
  const homeSecret = home ? await openSecret(home) : null;
  const instances = new Map<string, InstanceTarget>();
  for (const instance of record.instances) {
    instances.set(instance.name, {
      id: instance.id,
      name: instance.name,
      upstreams: (own?.upstreams ?? instance.upstreams).map(splitUpstreamBase),
      timeoutMs: own?.timeout_ms ?? instance.timeout_ms,
      signingSecret: own ? homeSecret : await openSecret(instance),
    });
  }
  return {
    record,
    instances,
    domains: new Map(record.domains.map((d) => [d.hostname, d.instance])),
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
