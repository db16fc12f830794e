// Input rules every client body meets before any schema sees it (DESIGN.md "Input rules"): no duplicate
// JSON keys (parsers disagree on which one wins), no control or bidi-override characters in any string or
// key (Postgres refuses NUL; the others hide what a name really says), and a bounded nesting depth, so
// nothing stored can make a later read, list or export fail.

/** How deep a free JSON value (settings) may nest. */
export const MAX_FREE_JSON_DEPTH = 16;
/** How deep a whole request body may nest: a free JSON value inside the resource that holds it. */
export const MAX_BODY_DEPTH = MAX_FREE_JSON_DEPTH + 8;

import { ApiError } from './error-codes';

// C0 controls, DEL and C1 controls; the bidi embeddings, overrides and isolates (U+202A–E, U+2066–9).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export type InputProblem = { path: string; message: string };

/** Whether `text` holds a character the input rules refuse: a control character or a bidi override. */
export function hasUnsafeCharacter(text: string): boolean {
  return UNSAFE_CHARACTER.test(text);
}

/** The first key that appears twice in one object of the JSON `text` (assumed to parse), or null. */
export function findDuplicateKey(text: string): string | null {
  // A scanner over the text, not a parse: JSON.parse has already judged it; only keys matter here.
  const objects: Set<string>[] = [];
  // Per open container: whether it is an object (keys expected) and whether the next string is a key.
  const frames: { object: boolean; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const frame = frames[frames.length - 1];
      if (frame?.object && frame.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = objects[objects.length - 1];
        if (keys.has(key)) return key;
        keys.add(key);
        frame.expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      frames.push({ object: true, expectKey: true });
      objects.push(new Set());
    } else if (ch === '[') {
      frames.push({ object: false, expectKey: false });
    } else if (ch === '}' || ch === ']') {
      if (frames.pop()?.object) objects.pop();
    } else if (ch === ',') {
      const frame = frames[frames.length - 1];
      if (frame?.object) frame.expectKey = true;
    }
  }
  return null;
}

/**
 * The first string or key of `value` holding a control or bidi-override character, or a nesting deeper than
 * `maxDepth`; null when there is none. Walks with its own stack, so no depth can overflow it.
 */
export function findUnsafeInput(value: unknown, maxDepth = MAX_BODY_DEPTH): InputProblem | null {
  const stack: { value: unknown; path: string[]; depth: number }[] = [{ value, path: [], depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as (typeof stack)[number];
    const at = item.path.join('.');
    if (typeof item.value === 'string') {
      if (UNSAFE_CHARACTER.test(item.value)) return { path: at, message: unsafeMessage('text', item.value) };
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= maxDepth) return { path: at, message: `Nested more than ${maxDepth} levels deep` };
    const entries = Array.isArray(item.value)
      ? item.value.map((v, i) => [String(i), v] as const)
      : Object.entries(item.value);
    for (const [key, child] of entries) {
      if (!Array.isArray(item.value) && UNSAFE_CHARACTER.test(key)) {
        return { path: [...item.path, key].join('.'), message: unsafeMessage('key', key) };
      }
      stack.push({ value: child, path: [...item.path, key], depth: item.depth + 1 });
    }
  }
  return null;
}

/** How deep `value` nests (0 for a scalar), counted without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as (typeof stack)[number];
    if (typeof item.value !== 'object' || item.value === null) continue;
    deepest = Math.max(deepest, item.depth + 1);
    for (const child of Object.values(item.value)) stack.push({ value: child, depth: item.depth + 1 });
  }
  return deepest;
}

function unsafeMessage(what: 'text' | 'key', text: string): string {
  const code = text.codePointAt(text.search(UNSAFE_CHARACTER)) ?? 0;
  const name = code >= 0x202a ? 'a bidi override' : 'a control character';
  return `The ${what} holds ${name} (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** JSON by the input rules: malformed or with a key twice in one object → 400 bad_request. */
export function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'The body is not valid JSON');
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    throw new ApiError('bad_request', `The key ${JSON.stringify(duplicate)} appears twice in one object`);
  }
  return value;
}

/** No control or bidi-override character in any string or key, and a bounded depth → else 422. */
export function checkInput(value: unknown): void {
  const problem = findUnsafeInput(value);
  if (problem) throw new ApiError('validation_failed', 'The request is not valid', [problem]);
}
