// The one way the gateway logs a failure: one JSON line with where it happened, the request's id and route
// when there is one, and what went wrong. It takes no free text from callers' values and strips what a
// failed query carries (drizzle puts the query's parameters, key hashes among them, into the message).

export type LogFields = {
  at: string;
  request_id?: string;
  route?: string;
  status?: number;
  code?: string;
  tenant_id?: string;
  instance?: string;
};

/** What an error may say in a log: its name and message, a failed query by its SQLSTATE only. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return typeof err === 'string' ? err.split('\n')[0] : 'non-error thrown';
  const message = err.message;
  if ('params' in err || message.startsWith('Failed query') || /\nparams:/.test(message)) {
    const sqlstate = (err.cause as { code?: unknown } | undefined)?.code;
    return `${err.name}: failed query${typeof sqlstate === 'string' ? ` (SQLSTATE ${sqlstate})` : ''}`;
  }
  return `${err.name}: ${message.split('\n')[0]}`;
}

export function logError(fields: LogFields, err?: unknown): void {
  const line: Record<string, unknown> = { level: 'error', ...fields };
  if (err !== undefined) line.error = describeError(err);
  console.error(JSON.stringify(line));
}
