// Postgres constraint violations, wherever drizzle or the driver wrapped them.

type PgError = { code?: unknown; constraint?: unknown };

function findPgError(err: unknown, code: string): PgError | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as PgError).code === code) return e as PgError;
  }
  return null;
}

/** The constraint a unique violation (23505) hit, or null when `err` is not one. */
export function uniqueViolation(err: unknown): string | null {
  const pg = findPgError(err, '23505');
  return pg ? String(pg.constraint ?? '') : null;
}

/** Whether `err` is a foreign key violation (23503), e.g. deleting a row still referenced. */
export function isForeignKeyViolation(err: unknown): boolean {
  return findPgError(err, '23503') !== null;
}

/** Whether `err` is a deadlock Postgres broke (40P01) by aborting this transaction. */
export function isDeadlock(err: unknown): boolean {
  return findPgError(err, '40P01') !== null;
}
