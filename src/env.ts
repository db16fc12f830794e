import type { RequestFields } from './core/http/request-fields';
import type { Actor } from './core/tenancy/actor';
import type { UsageMessage } from './core/usage/usage-batch';
import type { Connection } from './db/client';

/** Secrets are set with `wrangler secret put`, so `wrangler types` cannot see them. */
export type Secrets = {
  ADMIN_API_KEY?: string;
  DATABASE_URL?: string;
  SEALING_KEY?: string;
};

/** Tests only, never set in production: shrinks every wait of core/time/clock's table by this factor. */
export type TestBindings = { GATEWAY_TIME_SCALE?: string };

/** Set by `npm run dev` and `npm start` only: the port they listen on, which local tenant URLs carry. */
export type LocalBindings = { PORT?: string };

/** `USAGE` (wrangler.toml): the usage queue, which carries the isolates' usage messages (src/edge/usage-batch). */
export type Bindings = Omit<Env, 'USAGE'> & { USAGE: Queue<UsageMessage> } & Secrets &
  TestBindings &
  LocalBindings;

export type AppEnv = {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    /** The request's header fields, read out of the runtime once by the front door. */
    fields: RequestFields;
    /** The request's URL, parsed once by the front door. */
    url: URL;
    /** The request's normalised host (lower case, no port, no trailing dot, punycode). */
    host: string;
    /** Opened on first use by `useDatabase`, closed after the response by `databaseScope`. */
    connection?: Promise<Connection>;
    /** Who calls the control API; set by `authenticate`. */
    actor?: Actor;
    /** Tenants a committed write changed: the answer waits for the ChangeFeed (edge/tenant-changed). */
    changed?: Set<string>;
  };
};
