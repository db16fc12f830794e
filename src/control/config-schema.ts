// The declarative configuration file (`PUT /v1/config`, `GET /v1/config`) and the answer to an apply.
// Its objects are the resource APIs' own bodies: an instance as created, a tenant as created plus its status
// and key declarations.
import { z } from '@hono/zod-openapi';
import { RateLimitSchema, TenantStatusSchema } from '../tenancy/shared-schemas';
import { CreateTenant } from '../tenancy/tenant-schemas';
import { CreateInstance } from './instance-input';
import { keyFields } from './keys';

const ConfigKey = z
  .strictObject({ ...keyFields, rate_limit: RateLimitSchema.nullable().optional() })
  .openapi('ConfigKey', {
    description:
      'Matched by name among the live keys of the tenant; created if missing (its secret is shown once)',
  });

// A new object of CreateTenant's fields, not `.extend`: the document would render that as an `allOf` of two
// closed schemas, which no tenant can satisfy.
const ConfigTenant = z
  .strictObject({
    ...CreateTenant.shape,
    status: TenantStatusSchema.optional().openapi({
      description: 'Default: `pending` for a new tenant, left as it is for an existing one',
    }),
    keys: z
      .array(ConfigKey)
      .max(100)
      .optional()
      .openapi({ description: 'Left out: keys are not managed by the file' }),
  })
  .openapi('ConfigTenant');

export const ConfigFile = z
  .strictObject({
    instances: z.array(CreateInstance).max(1000).default([]),
    tenants: z.array(ConfigTenant).max(10_000).default([]),
  })
  .openapi('Config');

export type ConfigFile = z.infer<typeof ConfigFile>;
export type ConfigTenant = z.infer<typeof ConfigTenant>;

export const ConfigChange = z
  .object({
    kind: z.enum(['instance', 'tenant', 'key']),
    name: z.string().openapi({ description: 'Instance name, tenant slug, or `{slug}/{key name}`' }),
    action: z.enum(['create', 'update', 'delete', 'unchanged']),
    fields: z.array(z.string()).optional().openapi({ description: 'The fields an update changes' }),
    signing_secret: z.string().optional().openapi({ description: 'A new instance: shown once' }),
    secret: z.string().optional().openapi({ description: 'A new key: shown once' }),
    install_token: z.string().optional().openapi({ description: 'A new pending tenant: shown once' }),
    install_url: z.string().nullable().optional(),
  })
  .openapi('ConfigChange');

export type ConfigChange = z.infer<typeof ConfigChange>;

export const ConfigResult = z
  .object({
    dry_run: z.boolean(),
    changes: z.array(ConfigChange),
    summary: z.object({
      create: z.number().int(),
      update: z.number().int(),
      delete: z.number().int(),
      unchanged: z.number().int(),
    }),
  })
  .openapi('ConfigResult');
