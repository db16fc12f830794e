// The entry of the second gateway isolate of the workerd tests (test/setup/gateway-b.ts): everything
// src/index.ts exports, bundled as `wrangler deploy` bundles it, plus one entrypoint only a test's service
// binding reaches (GATEWAY_B_TEST), no route. It tells the isolate apart and moves its clock: the test
// shares the first isolate's modules (its clock moves the gateway's there, ./clock), never this one's.
import { WorkerEntrypoint } from 'cloudflare:workers';
import { advanceClock, clockOffset } from '../../src/core/time/clock';

export * from '../../src/index';
export { default } from '../../src/index';

let isolateId: string | undefined;

export class GatewayBTest extends WorkerEntrypoint {
  /** Drawn on first asking (no randomness at start-up in workerd), then this isolate's for good. */
  isolateId(): string {
    isolateId ??= crypto.randomUUID();
    return isolateId;
  }

  /** How far this isolate's `now()` is ahead of the runtime's clock, in ms. */
  clockOffset(): number {
    return clockOffset();
  }

  advanceClock(ms: number): void {
    advanceClock(ms);
  }
}
