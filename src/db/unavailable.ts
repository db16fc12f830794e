// Telling a database outage (answered 503 `database_unavailable`) from a bad query.

/** Connection-level failures (SQLSTATE class 08, shutdowns, dropped sockets), as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P03'))
      return true;
    const message = String((e as { message?: unknown }).message ?? '');
    if (
      /connection terminated|websocket|ECONNREFUSED|socket hang up|network connection lost/i.test(message)
    ) {
      return true;
    }
    if (e instanceof DatabaseUnavailableError) return true;
  }
  return false;
}

export class DatabaseUnavailableError extends Error {
  constructor(message = 'The database is unavailable') {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}
