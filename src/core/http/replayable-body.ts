// A request body that can be sent again to the next upstream when the first one could not be reached,
// without holding the whole body in memory.
//
// Each attempt gets its own stream that pulls lazily from one shared reader of the client's body. The
// runtime starts reading a request body before it knows whether the connection succeeded (measured in
// workerd: a refused connection has already pulled one or two chunks), so what the attempts read is kept,
// up to `limit` bytes, until an upstream answers. A later attempt first replays those chunks, then goes on
// reading the client's body. Once more than `limit` bytes were read, or an upstream answered, nothing more
// is kept and the body cannot be sent again.

type Attempt = { index: number };

export class ReplayableBody {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  // Chunks read while retaining; entries are released (null) once no attempt can need them.
  private readonly log: (Uint8Array | null)[] = [];
  private logBytes = 0;
  private retaining = true;
  private chunks = 0;
  private done = false;
  private failed = false;
  private reading: Promise<Uint8Array | null> | null = null;
  private current: Attempt | null = null;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly limit: number,
  ) {
    this.reader = body.getReader();
  }

  /** Whether a new attempt could still send the body from its first byte. */
  get replayable(): boolean {
    return this.retaining && !this.failed;
  }

  /** The whole body for one more attempt; earlier attempts stop receiving anything. */
  attempt(): ReadableStream<Uint8Array> {
    if (!this.replayable) throw new Error('the request body can no longer be replayed');
    const attempt: Attempt = { index: 0 };
    this.current = attempt;
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.pull(attempt, controller),
        // The client's body stays open for the next attempt; `cancel()` below ends it.
        cancel: () => {},
      },
      // Zero: nothing is read before the runtime asks for it.
      { highWaterMark: 0 },
    );
  }

  /** An upstream answered: stop keeping chunks for another attempt. */
  commit(): void {
    this.stopRetaining();
  }

  /** No attempt will read any more: release the client's body. */
  cancel(): void {
    this.stopRetaining();
    this.current = null;
    this.reader.cancel().catch(() => {});
  }

  private async pull(attempt: Attempt, controller: ReadableStreamDefaultController<Uint8Array>) {
    if (attempt !== this.current) return controller.error(new Error('superseded by a later attempt'));
    if (attempt.index < this.chunks) {
      const chunk = this.log[attempt.index];
      if (!chunk) return controller.error(new Error('the request body can no longer be replayed'));
      if (!this.retaining) this.log[attempt.index] = null;
      attempt.index++;
      return controller.enqueue(chunk);
    }
    const chunk = await this.next();
    // Superseded while reading: the chunk is in the log for the attempt that replaced this one.
    if (attempt !== this.current) return;
    if (chunk === null) return controller.close();
    attempt.index++;
    if (!this.retaining && attempt.index <= this.log.length) this.log[attempt.index - 1] = null;
    controller.enqueue(chunk);
  }

  // One read of the client's body at a time, shared by whoever asks while it is in flight.
  private next(): Promise<Uint8Array | null> {
    if (this.done) return Promise.resolve(null);
    this.reading ??= this.reader.read().then(
      ({ done, value }) => {
        this.reading = null;
        if (done) {
          this.done = true;
          return null;
        }
        this.chunks++;
        if (this.retaining) {
          this.log.push(value);
          this.logBytes += value.byteLength;
          if (this.logBytes > this.limit) this.stopRetaining();
        }
        return value;
      },
      (err: unknown) => {
        this.reading = null;
        this.failed = true;
        throw err;
      },
    );
    return this.reading;
  }

  private stopRetaining() {
    this.retaining = false;
    // Everything the current attempt has already sent is no longer needed.
    const upTo = this.current?.index ?? this.log.length;
    for (let i = 0; i < upTo; i++) this.log[i] = null;
  }
}
