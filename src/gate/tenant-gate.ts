import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';

/**
 * One per tenant: the consistency point for rate limits, quotas, revocations and usage.
 * Built out by the TenantGate issue; bound here so the binding and its migration exist from the start.
 */
export class TenantGate extends DurableObject<Bindings> {}
