// BASE_DOMAINS for the data plane, parsed once per isolate and per distinct value (env vars do not change
// within an isolate). A value with a refused entry throws (core/http/base-domains: the request answers 500
// and the log says which entry and why).
import { type BaseDomainConfig, baseDomainsOf } from '../core/http/base-domains';
import type { Bindings } from '../env';

/** The configured base domains: `byLength` to match a host against, `listed` as configured. */
export function configuredBaseDomains(env: Bindings): BaseDomainConfig {
  return baseDomainsOf(env.BASE_DOMAINS);
}
