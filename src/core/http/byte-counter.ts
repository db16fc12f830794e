/**
 * A pass-through stream that counts the bytes going through it, for bodies without a Content-Length.
 * `onEnd` runs once, when the body ends or is cancelled or aborted, with what went through until then.
 */
export function byteCounter(onEnd: (bytes: number) => void): TransformStream<Uint8Array, Uint8Array> {
  let bytes = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd(bytes);
  };
  // `cancel` (the reader went away) is in the Streams standard and workerd, not yet in every lib's types.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: () => void } = {
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush: end,
    cancel: end,
  };
  return new TransformStream(transformer);
}
