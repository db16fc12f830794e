// List cursors: the sort key of a page's last row, opaque to clients (base64url of its JSON).
import { hasUnsafeCharacter } from '../core/http/input';
import { ApiError } from '../errors';

export function encodeCursor(key: string): string {
  return btoa(JSON.stringify(key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function invalidCursor(): ApiError {
  return new ApiError('validation_failed', 'The request is not valid', [
    { path: 'cursor', message: 'cursor is not one this API handed out' },
  ]);
}

/** The sort key a cursor carries; 422 for anything this API did not hand out. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    throw invalidCursor();
  }
  // A crafted cursor could carry what Postgres refuses in text (NUL): none of ours does.
  if (typeof value !== 'string' || hasUnsafeCharacter(value)) throw invalidCursor();
  return value;
}

/** `rows` fetched with limit + 1: the page, and the cursor of the next one if there is more. */
export function toPage<R, D>(
  rows: R[],
  limit: number,
  key: (row: R) => string,
  view: (row: R) => D,
): { data: D[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return {
    data: pageRows.map(view),
    next_cursor: more ? encodeCursor(key(pageRows[pageRows.length - 1])) : null,
  };
}
