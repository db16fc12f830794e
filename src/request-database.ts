// A request's database connection, for both apps: opened on first use, closed after the response. Hono's
// side of db/client, which itself knows no HTTP.
import type { Context, MiddlewareHandler } from 'hono';
import { connectDatabase, type Database } from './db/client';
import type { AppEnv } from './env';

/** Middleware: the request's connection, if one was opened, is closed after the response. */
export function databaseScope(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const pending = c.get('connection');
    if (pending) c.executionCtx.waitUntil(pending.then((conn) => conn.close()).catch(() => {}));
  };
}

/** The request's database, connected on first use. */
export async function useDatabase(c: Context<AppEnv>): Promise<Database> {
  let pending = c.get('connection');
  if (!pending) {
    pending = connectDatabase(c.env);
    c.set('connection', pending);
  }
  return (await pending).db;
}
