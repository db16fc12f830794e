// The gateway's one clock, and the one table of every wait it makes, so tests inject time instead of waiting
// for it. Production: `now()` is Date.now() and every wait is as written here. Tests:
// - the binding `GATEWAY_TIME_SCALE` (e.g. "0.1") shrinks every wait of WAITS alike, keeping their ratios:
//   a 5 s usage flush or a 250 ms → 8 s back-off runs in a tenth of the time;
// - `advanceClock` moves `now()` forward (in workerd tests the test and the worker share this module), so a
//   case about a minute boundary starts a few seconds before one instead of waiting up to a minute for it.
// Not in the table, so never scaled: timeouts that guard real I/O (a lease call, a connect, an upstream's
// `timeout_ms`) and the contract's own figures (UTC windows, the ≤ 1 s freshness, token and session lives).

/** Every wait the gateway makes on its own account, in ms as production uses them. */
export const WAITS = {
  /** TenantGate: usage waits this long in the gate before it is written to Postgres. */
  usageFlushDelay: 5_000,
  /** TenantGate: a failed usage write is tried again after 1 s, 2 s, then every 5 s. */
  usageFlushRetryFirst: 1_000,
  usageFlushRetrySecond: 2_000,
  usageFlushRetryLater: 5_000,
  /** Isolate: usage counted is sent to the USAGE queue this long after the first count of a batch. */
  usageSendInterval: 5_000,
  /** USAGE queue consumer: a delivery that could not be written is retried after 2 s, doubling up to 1 h. */
  usageRetryFirst: 2_000,
  usageRetryMax: 60 * 60_000,
  /** TenantGate: a failed re-read of the tenant is not tried again sooner than this. */
  gateReloadRetry: 1_000,
  /** Isolate: after a failed lease call the failure policy applies at once for this long. */
  gateFailureBackoff: 1_000,
  /** Isolate: an unknown host is remembered as unknown for this long. */
  unknownHostTtl: 5_000,
  /** Install tokens and console passwords: the first wait after the free failures, doubled up to the cap. */
  throttleBaseDelay: 250,
  throttleMaxDelay: 8_000,
  /** A guessing counter nobody touched for this long starts again from zero. */
  throttleForgetAfter: 15 * 60_000,
  /** Lifecycle hooks: the first retry after a failed delivery, doubled up to the cap. */
  hookFirstRetry: 1_000,
  hookMaxRetry: 10 * 60_000,
  /** Lifecycle hooks: when the outbox cannot be read (Postgres down), look again after this long. */
  hookOutageRetry: 30_000,
} as const;

export type WaitName = keyof typeof WAITS;

let scale = 1;
let scaleSource: string | undefined;
let offsetMs = 0;

/** The time, in epoch ms: the real clock, moved on by `advanceClock` in tests. */
export function now(): number {
  return Date.now() + offsetMs;
}

/** How long the wait `name` is in this isolate (scaled in tests, never below 1 ms). */
export function waitMs(name: WaitName): number {
  return scale === 1 ? WAITS[name] : Math.max(1, Math.round(WAITS[name] * scale));
}

/** The factor every wait is multiplied by: 1 in production. */
export function timeScale(): number {
  return scale;
}

/**
 * Takes `GATEWAY_TIME_SCALE` from the bindings (entry points and Durable Object constructors call it). Only
 * a number in (0, 1] is taken: a wait can be shortened for tests, never lengthened, and anything else (unset
 * in production) leaves every wait as written.
 */
export function configureClock(bindings: { GATEWAY_TIME_SCALE?: string }): void {
  const source = bindings.GATEWAY_TIME_SCALE;
  if (source === scaleSource) return;
  scaleSource = source;
  const value = Number(source);
  scale = source && Number.isFinite(value) && value > 0 && value <= 1 ? value : 1;
}

/**
 * Tests only: how far `now()` is ahead of Date.now(). Read here, not as `now() - Date.now()`: the runtime's
 * clock may tick between the two reads, which made two isolates' level clocks differ by 1 ms.
 */
export function clockOffset(): number {
  return offsetMs;
}

/** Tests only: moves `now()` forward by `ms`. Never back: windows, leases and counters assume time grows. */
export function advanceClock(ms: number): void {
  if (!(ms >= 0)) throw new RangeError(`the clock only moves forward (asked ${ms} ms)`);
  offsetMs += ms;
}

/** The runtime's own time (what alarms are set in) when `now()` reads `clockMs`. */
export function runtimeTime(clockMs: number): number {
  return clockMs - offsetMs;
}
