import type { Database } from './client';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** The database or a transaction on it: queries that must join a caller's transaction take this. */
export type Queryable = Database | Transaction;
