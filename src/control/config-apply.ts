// Applies a configuration file as a planner: it reads the database once, diffs the file against it into
// steps (instances first, since tenants name them, then each tenant with its keys, then what `prune`
// removes), and runs each step's write through the same tenancy writes the resource APIs use, all in the
// apply's one transaction (`tenancy/apply-transaction.ts`). A dry run is the same transaction, rolled back,
// so it reports exactly what an apply would do, conflicts included.
import { asc } from 'drizzle-orm';
import { openSealed } from '../core/crypto/seal';
import { baseDomainsOf } from '../core/http/base-domains';
import { headerEditsChange } from '../core/http/inject-headers';
import { changedFields } from '../core/tenancy/config-diff';
import { checkSlug } from '../core/tenancy/slug';
import type { Queryable } from '../db/queryable';
import { instances } from '../db/schema';
import { selectTenantViews, type TenantView } from '../db/tenants';
import { ApiError } from '../errors';
import { inApplyTransaction } from '../tenancy/apply-transaction';
import { instanceFields } from '../tenancy/instance-schemas';
import { createInstance, deleteInstance, tenantPlacedOn, updateInstance } from '../tenancy/instances';
import { installUrl, tenantHostsOf } from '../tenancy/tenant-urls';
import { changeTenant, createTenant, deleteTenant, type TenantChange } from '../tenancy/tenants';
import type { Writer } from '../tenancy/writer';
import { type ApplyState, keySteps, liveKeysOf, type Step } from './config-apply-keys';
import {
  type Ctx,
  checkFile,
  currentTenant,
  declaredTenant,
  invalid,
  type WantedInstance,
  type WantedTenant,
  within,
} from './config-check';
import type { ConfigChange, ConfigFile } from './config-schema';
import { checkInstanceName } from './instance-input';
import { headerChange } from './tenants';
import { writer } from './writer';

type Wanted = ReturnType<typeof checkFile>;
/** Opened injected header values (null: no listed key opens one), by tenant slug; only for the diff. */
type OpenedHeaders = Map<string, Record<string, string | null>>;

/**
 * The stored header values of the tenants a file declares, opened, so a file that states
 * the values already stored is unchanged (idempotent) rather than sealed again. Never leaves the apply.
 */
async function openHeaders(c: Ctx, wanted: Wanted, state: ApplyState): Promise<OpenedHeaders> {
  const opened: OpenedHeaders = new Map();
  for (const want of wanted.tenants) {
    const stored = state.tenants.get(want.slug)?.tenant.injectHeaders;
    if (!stored) continue;
    const values: Record<string, string | null> = {};
    for (const [name, header] of Object.entries(stored)) {
      values[name] = await openSealed(header.sealed, c.env.SEALING_KEY ?? '')
        .then((o) => o.plaintext)
        .catch(() => null);
    }
    opened.set(want.slug, values);
  }
  return opened;
}

/** What the file is diffed against: every instance and tenant, and the live keys of the tenants it names. */
async function readState(db: Queryable, wanted: Wanted): Promise<ApplyState> {
  const instanceRows = await db.select().from(instances).orderBy(asc(instances.name));
  const views = await selectTenantViews(db);
  const bySlug = new Map(views.map((view) => [view.tenant.slug, view]));
  const managed = wanted.tenants.filter((t) => t.body.keys).map((t) => bySlug.get(t.slug)?.tenant.id);
  return {
    instances: new Map(instanceRows.map((row) => [row.name, row])),
    tenants: bySlug,
    keys: await liveKeysOf(
      db,
      managed.filter((id) => id !== undefined),
    ),
    ids: new Map(views.map((view) => [view.tenant.slug, view.tenant.id])),
  };
}

function instanceStep(c: Ctx, want: WantedInstance, state: ApplyState): Step {
  const row = state.instances.get(want.name);
  const { index, name, ...declared } = want;
  const fields = {
    upstreams: want.upstreams,
    timeoutMs: want.timeout_ms,
    services: want.services,
    hooksUrl: want.hooks_url,
    maxTenants: want.max_tenants,
    draining: want.draining,
  };
  if (!row) {
    return {
      change: { kind: 'instance', name: want.name, action: 'create' },
      write: async (w, _state, show) => {
        const named = checkInstanceName(c, name, `instances.${index}.name`);
        if (named.length > 0) throw invalid(named);
        const created = await createInstance(w, { name, ...fields }, c.env.SEALING_KEY ?? '');
        show({ signing_secret: created.signingSecret });
      },
    };
  }
  const changed = changedFields(instanceFields(row), declared);
  if (changed.length === 0) return { change: { kind: 'instance', name: want.name, action: 'unchanged' } };
  return {
    change: { kind: 'instance', name: want.name, action: 'update', fields: changed },
    write: (w) => updateInstance(w, want.name, fields),
  };
}

function createTenantStep(c: Ctx, want: WantedTenant): Step {
  const { body, slug, index } = want;
  return {
    change: { kind: 'tenant', name: slug, action: 'create' },
    write: async (w, state, show) => {
      const problem = checkSlug(slug, baseDomainsOf(c.env.BASE_DOMAINS).labels);
      if (problem) {
        const details = [{ path: `tenants.${index}.slug`, message: problem.message }];
        throw new ApiError(problem.code, problem.message, details);
      }
      const declared = declaredTenant(want);
      const { view, token } = await within(`tenants.${index}`, () =>
        createTenant(w, {
          ...declared,
          slug,
          status: declared.status ?? 'pending',
          instances: body.instances ?? [],
          headers: headerChange(c, body.inject_headers, true),
        }),
      );
      state.ids.set(slug, view.tenant.id);
      if (token) {
        show({ install_token: token.token, install_url: installUrl(view, tenantHostsOf(c.env)) });
      }
    },
  };
}

function updateTenantStep(c: Ctx, want: WantedTenant, before: TenantView, opened: OpenedHeaders): Step {
  const { body, index } = want;
  const declared = declaredTenant(want, before);
  const fields = changedFields(currentTenant(before), declared);
  const edits = body.inject_headers ?? {};
  const headers = headerEditsChange(opened.get(want.slug) ?? {}, edits);
  if (headers) fields.push('inject_headers');
  if (fields.length === 0) return { change: { kind: 'tenant', name: want.slug, action: 'unchanged' } };
  const placed = fields.includes('instance') || fields.includes('instances');
  return {
    change: { kind: 'tenant', name: want.slug, action: 'update', fields },
    write: async (w) => {
      const { status } = declared;
      if (status === 'pending') {
        throw invalid([
          { path: `tenants.${index}.status`, message: 'a tenant is pending only until it is installed' },
        ]);
      }
      // Placements are written only when they change, domains too (the PUT's fields otherwise).
      const change: TenantChange = {
        fields: {
          ...declared,
          status,
          ...(placed
            ? { instance: declared.instance, instances: declared.instances }
            : { instance: undefined, instances: undefined }),
        },
        domains: fields.includes('domains') ? want.domains : undefined,
        headers: headers ? headerChange(c, edits, true) : undefined,
        action: 'replace',
      };
      await within(`tenants.${index}`, () => changeTenant(w, before.tenant.id, change));
    },
  };
}

/** With prune: tenants the file does not name (never `public`), then instances it does not name. */
function pruneSteps(wanted: Wanted, state: ApplyState): Step[] {
  const slugs = new Set(wanted.tenants.map((t) => t.slug));
  const names = new Set(wanted.instances.map((i) => i.name));
  const tenantSteps = [...state.tenants.values()]
    .filter(({ tenant }) => !slugs.has(tenant.slug) && tenant.slug !== 'public')
    .map(
      ({ tenant }): Step => ({
        change: { kind: 'tenant', name: tenant.slug, action: 'delete' },
        write: async (w) => {
          await deleteTenant(w, tenant.id);
        },
      }),
    );
  const instanceSteps = [...state.instances.values()]
    .filter((row) => !names.has(row.name))
    .map(
      (row): Step => ({
        change: { kind: 'instance', name: row.name, action: 'delete' },
        write: async (w) => {
          await refuseIfPlaced(w.db, row);
          await deleteInstance(w, row.name);
        },
      }),
    );
  return [...tenantSteps, ...instanceSteps];
}

/** The apply's own 409 for an instance left out of the file: it names the instance and a tenant on it. */
async function refuseIfPlaced(db: Queryable, row: { id: string; name: string }) {
  const slug = await tenantPlacedOn(db, row.id);
  if (slug === undefined) return;
  throw new ApiError(
    'instance_in_use',
    `Instance ${row.name} is not in the file but tenant ${slug} is placed on it`,
  );
}

/** The diff of the file against the database, in the order its writes run. */
function plan(c: Ctx, wanted: Wanted, state: ApplyState, opened: OpenedHeaders, prune: boolean): Step[] {
  return [
    ...wanted.instances.map((want) => instanceStep(c, want, state)),
    ...wanted.tenants.flatMap((want) => {
      const before = state.tenants.get(want.slug);
      const tenant = before ? updateTenantStep(c, want, before, opened) : createTenantStep(c, want);
      return [tenant, ...keySteps(want, state, prune)];
    }),
    ...(prune ? pruneSteps(wanted, state) : []),
  ];
}

async function run(w: Writer, steps: Step[], state: ApplyState): Promise<ConfigChange[]> {
  const changes: ConfigChange[] = [];
  for (const step of steps) {
    const change = { ...step.change };
    await step.write?.(w, state, (shown) => Object.assign(change, shown));
    changes.push(change);
  }
  return changes;
}

const SECRET_FIELDS = ['signing_secret', 'secret', 'install_token', 'install_url'] as const;

/** Applies (or, with `dryRun`, only reports) `file`; the changes, each with any secret it made shown once. */
export async function applyConfig(
  c: Ctx,
  file: ConfigFile,
  opts: { dryRun: boolean; prune: boolean },
): Promise<ConfigChange[]> {
  const wanted = checkFile(c, file);
  const changes = await inApplyTransaction(await writer(c), opts.dryRun, async (w) => {
    const state = await readState(w.db, wanted);
    const opened = await openHeaders(c, wanted, state);
    return run(w, plan(c, wanted, state, opened, opts.prune), state);
  });
  if (!opts.dryRun) return changes;
  // Secrets made inside the rolled-back transaction never existed.
  return changes.map((change) => {
    const copy = { ...change };
    for (const field of SECRET_FIELDS) delete copy[field];
    return copy;
  });
}
