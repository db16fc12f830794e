// The gateway's second isolate in the workerd tests (test/setup/gateway-b.ts): `gateway-b`, a worker of its
// own beside the runner's, on the same Durable Objects, queues, database and bindings. The runner's isolate
// ("A") is the one the tests share modules with; gatewayFetchB (./helpers) sends a request through "B".
import { env } from 'cloudflare:workers';
import { advanceClock, clockOffset } from './clock';
import type { GatewayBTest } from './gateway-b-entry';

declare global {
  namespace Cloudflare {
    interface Env {
      /** The second isolate's fetch, as a client's request reaches it. */
      GATEWAY_B: Fetcher;
      /** Its test entrypoint (./gateway-b-entry.ts): identity and clock. */
      GATEWAY_B_TEST: Service<GatewayBTest>;
    }
  }
}

/** B's isolate id: the same for every call into one isolate. */
export function isolateIdB(): Promise<string> {
  return env.GATEWAY_B_TEST.isolateId();
}

/** How far B's clock is ahead of the runtime's (A's is `clockOffset()`). */
export function clockOffsetB(): Promise<number> {
  return env.GATEWAY_B_TEST.clockOffset();
}

/** Moves B's clock alone. */
export function advanceClockB(ms: number): Promise<void> {
  return env.GATEWAY_B_TEST.advanceClock(ms);
}

/**
 * Brings both isolates' clocks level, moving the one behind forward (a clock never goes back). A case that
 * spans the two isolates starts with it: a gate runs in A, on A's clock, so B must read the same time.
 */
export async function levelClocks(): Promise<void> {
  const a = clockOffset();
  const b = await clockOffsetB();
  if (a > b) await advanceClockB(a - b);
  else if (b > a) advanceClock(b - a);
}

/** Moves both isolates' clocks on by `ms`, level first. */
export async function advanceClocks(ms: number): Promise<void> {
  await levelClocks();
  advanceClock(ms);
  await advanceClockB(ms);
}
