// What isolates and their TenantGate say to each other (Workers RPC), apart from the Durable Object class so
// the edge can name it without importing the runtime's module.
import type { LeaseRequest, LeaseResponse } from '../core/limits/lease';
import type { TenantRecord } from '../db/snapshot-query';

export type GateLeaseRequest = LeaseRequest & {
  tenantId: string;
  /** The newest snapshot version the isolate holds; a newer one than the gate's makes it re-read Postgres. */
  knownVersion: number;
};

/** `record` only when the isolate's known version differs: the tenant as the gate has it, null once deleted. */
export type GateLeaseResponse = { lease: LeaseResponse; record?: TenantRecord | null };
