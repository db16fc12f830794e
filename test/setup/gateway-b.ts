// The bundle of the second gateway isolate of the workerd test projects (vitest.config.ts, `gatewayB`):
// the gateway built as `wrangler deploy` builds it (bench/workerd.ts, cached by content under
// node_modules/.cache/gateway-bundle) from test/worker/gateway-b-entry.ts, which is src/index.ts and one
// test entrypoint. ./global.ts builds it and hands its path to the projects' options.
import { buildBundle } from '../../bench/workerd';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built bundle the second gateway isolate (`gateway-b`) runs. */
    gatewayBScript: string;
  }
}

const ENTRY = 'test/worker/gateway-b-entry.ts';

let built: Promise<string> | undefined;

/** The bundle's path: built once per run (and once per content across runs), whichever project asks first. */
export function buildGatewayB(): Promise<string> {
  built ??= buildBundle({ config: 'wrangler.toml', entry: ENTRY, sources: ['src', ENTRY] }).then(
    (bundle) => bundle.scriptPath,
  );
  return built;
}
