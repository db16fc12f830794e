import { describe, expect, test } from 'vitest';
import { ReplayableBody } from '../../../src/core/http/replayable-body';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client body of `chunks`, counting how many chunks were read from it. */
function clientBody(chunks: string[]) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = chunks[state.pulled++];
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = '';
  for (let next = await reader.read(); !next.done; next = await reader.read())
    text += decoder.decode(next.value);
  return text;
}

/** Reads `n` chunks, as a runtime does before it notices the connection failed. */
async function readSome(stream: ReadableStream<Uint8Array>, n: number): Promise<string> {
  const reader = stream.getReader();
  let text = '';
  for (let i = 0; i < n; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  reader.releaseLock();
  return text;
}

describe('ReplayableBody', () => {
  test('an attempt reads nothing until asked', async () => {
    const { stream, state } = clientBody(['a', 'b']);
    const body = new ReplayableBody(stream, 1024);
    body.attempt();
    await new Promise((r) => setTimeout(r, 10));
    expect(state.pulled).toBe(0);
  });

  test('a single attempt streams the whole body', async () => {
    const { stream } = clientBody(['hello ', 'world']);
    const body = new ReplayableBody(stream, 1024);
    expect(await readAll(body.attempt())).toBe('hello world');
  });

  test('a failed attempt that read part of the body is replayed from the start, then continued', async () => {
    const { stream, state } = clientBody(['one,', 'two,', 'three,', 'four']);
    const body = new ReplayableBody(stream, 1024);
    expect(await readSome(body.attempt(), 2)).toBe('one,two,');
    expect(body.replayable).toBe(true);
    expect(await readAll(body.attempt())).toBe('one,two,three,four');
    // The client's body was read once, not once per attempt.
    expect(state.pulled).toBe(5);
  });

  test('several failed attempts each replay what the previous ones read', async () => {
    const { stream } = clientBody(['a', 'b', 'c', 'd']);
    const body = new ReplayableBody(stream, 1024);
    expect(await readSome(body.attempt(), 1)).toBe('a');
    expect(await readSome(body.attempt(), 3)).toBe('abc');
    expect(await readAll(body.attempt())).toBe('abcd');
  });

  test('past the limit the body is no longer replayable, and the current attempt still gets all of it', async () => {
    const { stream } = clientBody(['12345', '67890', 'abcde']);
    const body = new ReplayableBody(stream, 8);
    const first = body.attempt();
    const reader = first.getReader();
    await reader.read();
    expect(body.replayable).toBe(true);
    await reader.read();
    expect(body.replayable).toBe(false);
    expect(() => body.attempt()).toThrow(/no longer be replayed/);
    const rest = await reader.read();
    expect(decoder.decode(rest.value)).toBe('abcde');
    expect((await reader.read()).done).toBe(true);
  });

  test('after commit nothing is kept for another attempt', async () => {
    const { stream } = clientBody(['a', 'b']);
    const body = new ReplayableBody(stream, 1024);
    const attempt = body.attempt();
    body.commit();
    expect(body.replayable).toBe(false);
    expect(await readAll(attempt)).toBe('ab');
  });

  test('an upstream that answered before reading everything still receives the rest in order', async () => {
    const { stream } = clientBody(['a', 'b', 'c']);
    const body = new ReplayableBody(stream, 1024);
    expect(await readSome(body.attempt(), 2)).toBe('ab');
    const second = body.attempt();
    body.commit();
    expect(await readAll(second)).toBe('abc');
  });

  test('a superseded attempt receives nothing more', async () => {
    const { stream } = clientBody(['a', 'b']);
    const body = new ReplayableBody(stream, 1024);
    const first = body.attempt();
    body.attempt();
    await expect(readAll(first)).rejects.toThrow(/superseded/);
  });

  test('a client body that fails makes the body unreplayable', async () => {
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('client went away'));
      },
    });
    const body = new ReplayableBody(stream, 1024);
    await expect(readAll(body.attempt())).rejects.toThrow(/client went away/);
    expect(body.replayable).toBe(false);
  });

  test('cancel releases the client body', async () => {
    const { stream, state } = clientBody(['a', 'b']);
    const body = new ReplayableBody(stream, 1024);
    await readSome(body.attempt(), 1);
    body.cancel();
    await new Promise((r) => setTimeout(r, 0));
    expect(state.cancelled).toBe(true);
    expect(body.replayable).toBe(false);
  });
});
