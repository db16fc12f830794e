import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import {
  type EventStatus,
  type InstanceServices,
  type RateLimit,
  type SealedHeaders,
  TENANT_STATUSES,
  type TenantAuth,
  type TenantLimits,
  type TenantRoute,
  type TenantSettings,
  type TenantStatus,
  type TenantUpstream,
} from './column-types';

// The JSON columns' shapes and the status enums are zod's (./column-types), never written out here.
export type {
  EventStatus,
  InstanceService,
  InstanceServices,
  RateLimit,
  SealedHeaders,
  TenantAuth,
  TenantLimits,
  TenantRoute,
  TenantStatus,
  TenantUpstream,
} from './column-types';

/** A check that a text column holds one of the enum's values. */
const oneOf = (options: readonly string[]) => sql.raw(options.map((o) => `'${o}'`).join(', '));

/** A row's creation time, set by Postgres; ./usage-schema uses it too. */
export const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();

export const instances = pgTable(
  'instances',
  {
    id: text().primaryKey(),
    name: text().notNull().unique(),
    // The `default` service; `services` holds the others (a GUI, an API), each reached on its base domains.
    upstreams: jsonb().$type<string[]>().notNull(),
    timeoutMs: integer().notNull().default(30000),
    services: jsonb().$type<InstanceServices>().notNull().default({}),
    hooksUrl: text(),
    // AES-GCM sealed with SEALING_KEY: the gateway needs the secret itself to sign, so it cannot be hashed.
    signingSecretSealed: text().notNull(),
    // Capacity: null takes any number of tenants; a draining instance takes no new ones.
    maxTenants: integer(),
    draining: boolean().notNull().default(false),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [check('instances_max_tenants_check', sql`${t.maxTenants} >= 0`)],
);

export const tenants = pgTable(
  'tenants',
  {
    id: text().primaryKey(),
    name: text().notNull(),
    slug: text().notNull().unique(),
    schemaName: text().notNull().unique(),
    status: text().$type<TenantStatus>().notNull().default('pending'),
    homeInstanceId: text().references(() => instances.id, { onDelete: 'restrict' }),
    rateLimit: jsonb().$type<RateLimit>(),
    auth: jsonb().$type<TenantAuth>().notNull().default({ mode: 'required', public_paths: [] }),
    routes: jsonb().$type<TenantRoute[]>().notNull().default([]),
    settings: jsonb().$type<TenantSettings>().notNull().default({}),
    limits: jsonb().$type<TenantLimits>().notNull().default({ on_gate_error: 'closed' }),
    // A backend of the tenant's own: replaces its instances' upstreams and timeout (null: the instances').
    upstream: jsonb().$type<TenantUpstream>(),
    // Added to every request forwarded for the tenant; values sealed with SEALING_KEY, never in the clear.
    injectHeaders: jsonb().$type<SealedHeaders>().notNull().default({}),
    // Bumped by every change that alters what the data plane decides for this tenant.
    version: bigint({ mode: 'number' }).notNull().default(1),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    check('tenants_status_check', sql`${t.status} in (${oneOf(TENANT_STATUSES)})`),
    check('tenants_slug_check', sql`${t.slug} ~ '^[a-z0-9]{1,62}$'`),
  ],
);

export const tenantInstances = pgTable(
  'tenant_instances',
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    instanceId: text()
      .notNull()
      .references(() => instances.id, { onDelete: 'restrict' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.instanceId] }), index().on(t.instanceId)],
);

export const domains = pgTable(
  'domains',
  {
    hostname: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    instanceId: text().references(() => instances.id, { onDelete: 'restrict' }),
    // The instance's service it reaches; null is `default`.
    service: text(),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.tenantId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text().primaryKey(),
    // Null for operator keys.
    tenantId: text().references(() => tenants.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    keyHash: text().notNull().unique(),
    prefix: text().notNull(),
    scopes: jsonb().$type<string[]>().notNull().default([]),
    expiresAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
    rateLimit: jsonb().$type<RateLimit>(),
    createdAt: createdAt(),
    lastUsedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.tenantId)],
);

export const installTokens = pgTable(
  'install_tokens',
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull().unique(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.tenantId)],
);

export const tenantAdmins = pgTable(
  'tenant_admins',
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    passwordHash: text().notNull(),
    // Carried by every console session cookie and bumped by a new password: a session of an older epoch, a
    // copied cookie too, is no session.
    sessionEpoch: integer().notNull().default(0),
    passwordChangedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    lastLoginAt: timestamp({ withTimezone: true }),
  },
  (t) => [uniqueIndex().on(t.tenantId, t.email)],
);

// One-time console sign-ins an operator made for a tenant's admin (POST /v1/tenants/:tenant/recovery),
// stored as SHA-256 only. Used rows stay: the console shows who made the last one used, and when.
export const recoveryTokens = pgTable(
  'recovery_tokens',
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    adminId: text()
      .notNull()
      .references(() => tenantAdmins.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull().unique(),
    // The operator key that made it (`admin` for ADMIN_API_KEY) and its name then: the key may go later.
    createdBy: text().notNull(),
    createdByName: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.tenantId), index().on(t.adminId, t.usedAt)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: createdAt(),
    // `admin` for ADMIN_API_KEY, else the key id.
    actor: text().notNull(),
    // No foreign key: the trail outlives what it describes.
    tenantId: text(),
    resource: text().notNull(),
    resourceId: text().notNull(),
    action: text().notNull(),
    before: jsonb(),
    after: jsonb(),
    requestId: text(),
  },
  (t) => [index().on(t.tenantId, t.id)],
);

export const events = pgTable(
  'events',
  {
    seq: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: text().notNull().unique(),
    tenantId: text().notNull(),
    instanceId: text(),
    type: text().notNull(),
    payload: jsonb().notNull(),
    status: text().$type<EventStatus>().notNull().default('pending'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastError: text(),
    createdAt: createdAt(),
    deliveredAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.status, t.nextAttemptAt), index().on(t.tenantId, t.seq)],
);

// The truth behind the ChangeFeed (DESIGN.md, Architecture principle 2): one row per committed change of a
// tenant's version, written by a trigger on `tenants` at commit (migrations/0003_changes_trigger.sql), in
// commit order. `seq` is the cursor isolates hold. Pruned after a day by the cron trigger (src/db/changes.ts).
export const changes = pgTable(
  'changes',
  {
    seq: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: text(),
    instanceId: text(),
    version: bigint({ mode: 'number' }).notNull(),
    at: createdAt(),
  },
  (t) => [index().on(t.at)],
);
