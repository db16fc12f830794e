// BASE_DOMAINS, parsed once per isolate and per distinct value (env vars do not change within an isolate).
import { parseBaseDomains } from '../core/http/host';
import type { Bindings } from '../env';

let source: string | undefined;
let parsed: string[] = [];

/** The configured base domains, normalised, most specific first. */
export function configuredBaseDomains(env: Bindings): string[] {
  if (env.BASE_DOMAINS !== source) {
    source = env.BASE_DOMAINS;
    parsed = parseBaseDomains(env.BASE_DOMAINS ?? '');
  }
  return parsed;
}
