// A request's header fields, read out of the runtime's Headers once by the front door. Every Headers call
// crosses from JavaScript into the runtime (a `get` costs about as much as the rest of a key lookup); a warm
// request asked ten of them of the same few fields, so it now asks for them all in one pass and looks them
// up here.

/** What reading a field needs: the runtime's Headers and RequestFields both answer it. */
export type FieldLookup = { get(name: string): string | null };

/** The reads the data plane makes of a request's fields (Headers has them all too). */
export type FieldSource = FieldLookup & Iterable<[string, string]>;

export class RequestFields implements FieldSource {
  /** Every field as the runtime iterates them: lower-case names, repeated ones joined (Set-Cookie apart). */
  readonly #entries: [string, string][];
  readonly #byName = new Map<string, string>();

  constructor(headers: Iterable<[string, string]>) {
    this.#entries = [...headers];
    for (const [name, value] of this.#entries) {
      // Only Set-Cookie comes more than once; Headers.get answers its values joined, and so does this.
      const seen = this.#byName.get(name);
      this.#byName.set(name, seen === undefined ? value : `${seen}, ${value}`);
    }
  }

  /** The field's value, or null when the request has none (as Headers.get answers). */
  get(name: string): string | null {
    return this.#byName.get(name.toLowerCase()) ?? null;
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.#entries[Symbol.iterator]();
  }
}
