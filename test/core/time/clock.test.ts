import { describe, expect, test } from 'vitest';
import {
  advanceClock,
  configureClock,
  now,
  runtimeTime,
  timeScale,
  WAITS,
  type WaitName,
  waitMs,
} from '../../../src/core/time/clock';

// Module state: each case leaves the scale as production has it.
const production = () => configureClock({});

describe('time scale', () => {
  test('unset, every wait is as written', () => {
    production();
    expect(timeScale()).toBe(1);
    for (const name of Object.keys(WAITS) as WaitName[]) expect(waitMs(name)).toBe(WAITS[name]);
  });

  test('a factor in (0, 1] shrinks every wait alike, never below 1 ms', () => {
    configureClock({ GATEWAY_TIME_SCALE: '0.25' });
    expect(timeScale()).toBe(0.25);
    expect(waitMs('usageFlushDelay')).toBe(1_250);
    expect(waitMs('throttleMaxDelay')).toBe(2_000);
    expect(waitMs('hookFirstRetry')).toBe(250);
    configureClock({ GATEWAY_TIME_SCALE: '0.000001' });
    expect(waitMs('throttleBaseDelay')).toBe(1);
    production();
  });

  test('anything else leaves the waits alone: a wait can be shortened, never lengthened', () => {
    for (const value of ['2', '0', '-0.5', 'NaN', 'Infinity', 'fast', '']) {
      configureClock({ GATEWAY_TIME_SCALE: '0.5' });
      configureClock({ GATEWAY_TIME_SCALE: value });
      expect(timeScale(), value).toBe(1);
      expect(waitMs('hookOutageRetry'), value).toBe(30_000);
    }
    production();
  });
});

describe('clock', () => {
  test('reads the real time until moved, then runs ahead of it by what it was moved', () => {
    const before = Date.now();
    const read = now();
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read - Date.now()).toBeLessThanOrEqual(0);
    advanceClock(90_000);
    const ahead = now() - Date.now();
    expect(ahead).toBeGreaterThanOrEqual(89_990);
    expect(ahead).toBeLessThanOrEqual(90_000);
    // Alarms are set in the runtime's time: a clock time maps back by the same amount.
    const at = now() + 5_000;
    expect(at - runtimeTime(at)).toBe(90_000);
  });

  test('never moves back', () => {
    const read = now();
    expect(() => advanceClock(-1)).toThrow(RangeError);
    expect(() => advanceClock(Number.NaN)).toThrow(RangeError);
    expect(now()).toBeGreaterThanOrEqual(read);
  });
});
