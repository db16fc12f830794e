import { describe, expect, it } from 'vitest';
import { byteCounter } from '../../../src/core/http/byte-counter';

function source(chunks: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const size of chunks) controller.enqueue(new Uint8Array(size).fill(1));
      controller.close();
    },
  });
}

describe('byteCounter', () => {
  it('passes the body through unchanged and reports its length once, at the end', async () => {
    const ends: number[] = [];
    const out = source([3, 0, 1000, 7]).pipeThrough(byteCounter((n) => ends.push(n)));
    const body = new Uint8Array(await new Response(out).arrayBuffer());
    expect(body.byteLength).toBe(1010);
    expect(body.every((b) => b === 1)).toBe(true);
    expect(ends).toEqual([1010]);
  });

  it('reports what went through when the reader goes away early', async () => {
    const ends: number[] = [];
    const reader = source([5, 6, 7])
      .pipeThrough(byteCounter((n) => ends.push(n)))
      .getReader();
    expect((await reader.read()).value?.byteLength).toBe(5);
    await reader.cancel();
    expect(ends).toEqual([5]);
  });
});
