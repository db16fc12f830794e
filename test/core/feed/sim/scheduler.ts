// Simulated time for the simulations of test/core: callbacks run in time order (ties in the order they were
// scheduled), and async code waits on `sleep` / `withTimeout` of this clock instead of the real one. Nothing
// here sleeps for real: a run of minutes of simulated time takes milliseconds.

type Entry = { at: number; n: number; fn: () => void; cancelled: boolean };

export type Timer = { cancel(): void };

export class Scheduler {
  now: number;
  private heap: Entry[] = [];
  private n = 0;

  constructor(start = 0) {
    this.now = start;
  }

  get pending(): number {
    return this.heap.length;
  }

  at(time: number, fn: () => void): Timer {
    const entry = { at: Math.max(time, this.now), n: this.n++, fn, cancelled: false };
    this.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  after(ms: number, fn: () => void): Timer {
    return this.at(this.now + ms, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Rejects with `error()` when `promise` has not settled within `ms` (core/time/timeout, on this clock). */
  withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.after(ms, () => reject(error()));
      promise.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (e) => {
          timer.cancel();
          reject(e);
        },
      );
    });
  }

  /** Callbacks only, no promises: runs every event up to `until`. */
  runSync(until = Number.POSITIVE_INFINITY): void {
    for (let e = this.next(until); e; e = this.next(until)) e.fn();
  }

  /** Runs every event up to `until`, letting the promise jobs each one starts settle before the next. */
  async run(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (let e = this.next(until); e; e = this.next(until)) {
      e.fn();
      await settle();
    }
  }

  private next(until: number): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > until) return undefined;
      this.pop();
      if (top.cancelled) continue;
      this.now = top.at;
      return top;
    }
  }

  private push(entry: Entry) {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop() {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

const less = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.n < b.n);

/** Lets every queued promise job run (a macrotask comes after all of them). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A small seeded generator, so a failing seed replays exactly. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
  };
}
export type Rng = ReturnType<typeof seeded>;
