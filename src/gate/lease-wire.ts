// What isolates and a tenant's TenantGate say to each other (Workers RPC), apart from the Durable Object class
// so the edge can name it without importing the runtime's module.
import type { LeaseRequest, LeaseResponse } from '../core/limits/lease';

export type GateLeaseRequest = LeaseRequest & { tenantId: string };
export type GateLeaseResponse = LeaseResponse;
