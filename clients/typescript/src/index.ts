// A typed client of the tenant gateway's control API: openapi-fetch over the types openapi-typescript
// generates from the served OpenAPI document (./schema.ts, `npm run openapi`). Every path, parameter, body
// and answer is checked by the compiler against that document.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };

/** The document's named schemas, e.g. `Schemas['Tenant']`, `Schemas['TenantCreate']`. */
export type Schemas = components['schemas'];

export type GatewayClient = Client<paths>;

export type GatewayClientOptions = {
  /** Where the control host answers, e.g. `https://control.example.com`. */
  baseUrl: string;
  /** An operator key, ADMIN_API_KEY, or a tenant key with `tenant:admin`; sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Another fetch (a service binding's, a test's); default the global one. */
  fetch?: ClientOptions['fetch'];
  headers?: Record<string, string>;
};

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  return createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch, headers });
}
