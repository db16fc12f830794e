// Declarative configuration against a database of its own (TEST_CONFIG_DATABASE_URL): prune deletes whatever
// a file omits, and export → apply must see no other test's writes.
import { env } from 'cloudflare:workers';
import { count, eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createApp } from '../../src/app';
import { sha256Hex } from '../../src/core/crypto/secrets';
import { connectDatabase, type Database } from '../../src/db/client';
import { apiKeys, auditLog, events, tenants } from '../../src/db/schema';
import { unique } from './helpers';

type Change = {
  kind: string;
  name: string;
  action: string;
  fields?: string[];
  signing_secret?: string;
  secret?: string;
  install_token?: string;
  install_url?: string;
};
type Result = { dry_run: boolean; changes: Change[]; summary: Record<string, number> };
type Answer<T> = { status: number; body: T; text: string; headers: Headers };

const app = createApp();
const configEnv = { ...env, DATABASE_URL: env.TEST_CONFIG_DATABASE_URL };
const ctx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

async function call<T = Result>(
  method: string,
  path: string,
  opts: { body?: string; contentType?: string; accept?: string; key?: string } = {},
): Promise<Answer<T>> {
  const headers = new Headers({ authorization: `Bearer ${opts.key ?? env.ADMIN_API_KEY}` });
  if (opts.contentType) headers.set('content-type', opts.contentType);
  if (opts.accept) headers.set('accept', opts.accept);
  const res = await app.fetch(
    new Request(`http://control.localhost${path}`, { method, headers, body: opts.body }),
    configEnv,
    ctx,
  );
  // Decoded by hand: workerd warns when .text() reads a body typed application/yaml.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  const json = res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : null;
  return { status: res.status, body: json as T, text, headers: res.headers };
}

const applyJson = (file: unknown, query = '') =>
  call('PUT', `/v1/config${query}`, { body: JSON.stringify(file), contentType: 'application/json' });
const applyYaml = (yaml: string, query = '') =>
  call('PUT', `/v1/config${query}`, { body: yaml, contentType: 'application/yaml' });

async function withConfigDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const conn = await connectDatabase(configEnv);
  try {
    return await work(conn.db);
  } finally {
    await conn.close();
  }
}

const rowCount = (table: typeof tenants | typeof auditLog | typeof events | typeof apiKeys) =>
  withConfigDb(async (db) => (await db.select({ n: count() }).from(table))[0].n);

function byAction(result: Result, action: string) {
  return result.changes.filter((c) => c.action === action).map((c) => `${c.kind}:${c.name}`);
}

/** A file of one instance and two tenants (one active with a key and a domain), with fresh names. */
function sampleFile() {
  const instance = unique('i');
  const acme = unique('acme');
  const beta = unique('beta');
  return {
    instance,
    acme,
    beta,
    file: {
      instances: [{ name: instance, upstreams: [env.TEST_UPSTREAM_URL], timeout_ms: 5000 }],
      tenants: [
        {
          slug: acme,
          name: 'Acme Inc.',
          status: 'active',
          instance,
          domains: [`api.${acme}.example.com`],
          rate_limit: { requests_per_minute: 100 },
          routes: [{ methods: ['post'], path: '/emails/*', scope: 'send' }],
          settings: { plan: 'pro', seats: 3 },
          keys: [{ name: 'ci', scopes: ['proxy:read', 'send'] }],
        },
        { slug: beta, name: 'Beta', instance },
      ],
    },
  };
}

describe('PUT /v1/config', () => {
  test('creates what a file declares, then applying it again changes nothing', async () => {
    const { instance, acme, beta, file } = sampleFile();
    const first = await applyJson(file);
    expect(first.status).toBe(200);
    expect(first.body.dry_run).toBe(false);
    expect(byAction(first.body, 'create')).toEqual([
      `instance:${instance}`,
      `tenant:${acme}`,
      `key:${acme}/ci`,
      `tenant:${beta}`,
    ]);
    const secrets = Object.fromEntries(first.body.changes.map((c) => [`${c.kind}:${c.name}`, c]));
    expect(secrets[`instance:${instance}`].signing_secret).toMatch(/^whsec_/);
    expect(secrets[`key:${acme}/ci`].secret).toMatch(/^gw_[0-9A-Za-z]{38}$/);
    // Only the pending tenant has something to install with.
    expect(secrets[`tenant:${beta}`].install_token).toMatch(/^gwi_/);
    expect(secrets[`tenant:${acme}`].install_token).toBeUndefined();

    const stored = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    expect(stored[0]).toMatchObject({
      name: 'Acme Inc.',
      status: 'active',
      rateLimit: { requests_per_minute: 100, requests_per_day: null },
      routes: [{ methods: ['POST'], path: '/emails/*', scope: 'send' }],
      settings: { plan: 'pro', seats: 3 },
    });
    const key = await withConfigDb((db) =>
      db.select().from(apiKeys).where(eq(apiKeys.tenantId, stored[0].id)),
    );
    expect(key.map((k) => [k.name, k.scopes, k.keyHash])).toEqual([
      ['ci', ['proxy:read', 'send'], await sha256Hex(secrets[`key:${acme}/ci`].secret as string)],
    ]);
    // Audited, and the same outbox events as the resource API writes.
    const audit = await withConfigDb((db) =>
      db.select().from(auditLog).where(eq(auditLog.tenantId, stored[0].id)),
    );
    expect(audit.map((a) => [a.actor, a.resource, a.action]).sort()).toEqual([
      ['admin', 'key', 'create'],
      ['admin', 'tenant', 'create'],
    ]);
    const outbox = await withConfigDb((db) =>
      db.select().from(events).where(eq(events.tenantId, stored[0].id)),
    );
    expect(outbox.map((e) => e.type)).toEqual(['tenant.created']);

    const auditBefore = await rowCount(auditLog);
    const second = await applyJson(file);
    expect(second.status).toBe(200);
    expect(second.body.summary).toEqual({ create: 0, update: 0, delete: 0, unchanged: 4 });
    expect(second.body.changes.every((c) => c.secret === undefined && c.signing_secret === undefined)).toBe(
      true,
    );
    expect(await rowCount(auditLog)).toBe(auditBefore);
  });

  test('a changed field is an update naming it; the data plane and the outbox see it', async () => {
    const { instance, acme, file } = sampleFile();
    const created = await applyJson(file);
    const secret = created.body.changes.find((c) => c.kind === 'key')?.secret as string;
    const proxied = () =>
      app.fetch(
        new Request(`http://${acme}.${instance}.localhost/hello`, {
          headers: { authorization: `Bearer ${secret}` },
        }),
        configEnv,
        ctx,
      );
    const open = await proxied();
    expect(open.status).toBe(200);
    await open.arrayBuffer();
    file.tenants[0].settings = { plan: 'enterprise', seats: 3 };
    file.tenants[0].status = 'suspended';
    file.tenants[0].keys = [{ name: 'ci', scopes: ['proxy:read'] }];
    const res = await applyJson(file);
    expect(res.status).toBe(200);
    expect(res.body.changes.filter((c) => c.action === 'update')).toEqual([
      { kind: 'tenant', name: acme, action: 'update', fields: ['status', 'settings'] },
      { kind: 'key', name: `${acme}/ci`, action: 'update', fields: ['scopes'] },
    ]);
    // The isolate's snapshot of the tenant was dropped after the commit: the next request sees the change.
    const closed = await proxied();
    expect(closed.status).toBe(403);
    expect(await closed.json()).toMatchObject({ error: { code: 'tenant_suspended' } });
    const [row] = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    expect(row.status).toBe('suspended');
    expect(row.version).toBeGreaterThan(1);
    const outbox = await withConfigDb((db) => db.select().from(events).where(eq(events.tenantId, row.id)));
    expect(outbox.map((e) => e.type)).toEqual(['tenant.created', 'tenant.suspended']);
  });

  test('a dry run shows the diff and writes nothing', async () => {
    const { acme, file } = sampleFile();
    expect((await applyJson(file)).status).toBe(200);
    const extra = unique('gamma');
    const changed = {
      ...file,
      tenants: [
        { ...file.tenants[0], name: 'Acme Renamed' },
        file.tenants[1],
        { slug: extra, name: 'Gamma', instance: file.instances[0].name },
      ],
    };
    const before = await Promise.all([rowCount(tenants), rowCount(auditLog), rowCount(events)]);
    const res = await applyJson(changed, '?dry_run=true');
    expect(res.status).toBe(200);
    expect(res.body.dry_run).toBe(true);
    expect(res.body.changes).toContainEqual({
      kind: 'tenant',
      name: acme,
      action: 'update',
      fields: ['name'],
    });
    expect(res.body.changes).toContainEqual({ kind: 'tenant', name: extra, action: 'create' });
    expect(res.body.summary).toMatchObject({ create: 1, update: 1, delete: 0 });
    expect(await Promise.all([rowCount(tenants), rowCount(auditLog), rowCount(events)])).toEqual(before);
    const [row] = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    expect(row.name).toBe('Acme Inc.');
  });

  test('prune deletes the tenants, keys and instances the file omits, but never public', async () => {
    const { instance, acme, beta, file } = sampleFile();
    expect((await applyJson(file)).status).toBe(200);
    // Keep only acme, without its key; everything else in this database goes.
    const kept = { instances: file.instances, tenants: [{ ...file.tenants[0], keys: [] }] };
    const dry = await applyJson(kept, '?prune=true&dry_run=true');
    expect(dry.status).toBe(200);
    expect(byAction(dry.body, 'delete')).toContain(`tenant:${beta}`);
    expect(await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, beta)))).toHaveLength(
      1,
    );

    const res = await applyJson(kept, '?prune=true');
    expect(res.status).toBe(200);
    const deleted = byAction(res.body, 'delete');
    expect(deleted).toContain(`tenant:${beta}`);
    expect(deleted).toContain(`key:${acme}/ci`);
    expect(deleted).not.toContain('tenant:public');
    const left = await withConfigDb((db) => db.select({ slug: tenants.slug }).from(tenants));
    expect(left.map((t) => t.slug).sort()).toEqual([acme, 'public'].sort());
    const [acmeRow] = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    const keys = await withConfigDb((db) =>
      db.select().from(apiKeys).where(eq(apiKeys.tenantId, acmeRow.id)),
    );
    expect(keys.every((k) => k.revokedAt !== null)).toBe(true);
    const [betaEvent] = await withConfigDb((db) =>
      db.select().from(events).where(eq(events.type, 'tenant.deleted')),
    );
    expect(betaEvent).toBeDefined();

    // An instance still in use cannot be pruned, and nothing of that apply is written.
    const auditBefore = await rowCount(auditLog);
    // acme stays, but its instance is left out of the file.
    const orphaned = await applyJson({ instances: [], tenants: kept.tenants }, '?prune=true');
    expect(orphaned.status).toBe(409);
    expect((orphaned.body as unknown as { error: { code: string } }).error.code).toBe('instance_in_use');
    expect(await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)))).toHaveLength(
      1,
    );
    expect(await rowCount(auditLog)).toBe(auditBefore);
    expect(orphaned.body).toMatchObject({ error: { message: expect.stringContaining(instance) } });
  });

  test('without an instance a tenant goes to the largest free share, ties by name, never draining or full', async () => {
    const [a, b, c] = [unique('a'), unique('b'), unique('c')];
    const gui = { upstreams: [env.TEST_UPSTREAM_URL_B] };
    const instances = [
      { name: a, upstreams: [env.TEST_UPSTREAM_URL], max_tenants: 2 },
      { name: b, upstreams: [env.TEST_UPSTREAM_URL], max_tenants: 4, services: { gui } },
      { name: c, upstreams: [env.TEST_UPSTREAM_URL], draining: true },
    ];
    const slugs = Array.from({ length: 7 }, () => unique('cap'));
    const declared = slugs.map((slug, i) => ({ slug, name: slug, ...(i === 0 ? { instance: b } : {}) }));
    // These three instances alone (prune's deletes come after an apply's creates).
    expect((await applyJson({ instances, tenants: [] }, '?prune=true')).status).toBe(200);
    // Seven do not fit (a takes 2, b 4, c none): 409, and the apply, one transaction, writes nothing.
    const over = await applyJson({ instances, tenants: declared });
    expect(over.status).toBe(409);
    expect((over.body as unknown as { error: unknown }).error).toMatchObject({
      code: 'instance_full',
      details: [
        {
          path: 'tenants.6.instance',
          message: 'no instance takes another tenant (each is full or draining)',
        },
      ],
    });
    expect(await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, slugs[0])))).toEqual(
      [],
    );

    const fits = await applyJson({ instances, tenants: declared.slice(0, 6) });
    expect(fits.status).toBe(200);
    // b 1/4 used → a (all free) → b (3/4 free beats 1/2) → a (1/2 each: by name) → b → b (a is full).
    const exported = await call<{
      instances: Record<string, unknown>[];
      tenants: { slug: string; instance: string }[];
    }>('GET', '/v1/config');
    const homes = new Map(exported.body.tenants.map((t) => [t.slug, t.instance]));
    expect(slugs.slice(0, 6).map((slug) => homes.get(slug))).toEqual([b, a, b, a, b, b]);
    // A pending tenant's install URL is on its home's gui host when it has one.
    const created = new Map(fits.body.changes.map((change) => [change.name, change]));
    expect(created.get(slugs[0])?.install_url).toBe(`http://${slugs[0]}.${b}.app.localhost/_gateway/install`);
    expect(created.get(slugs[1])?.install_url).toBe(`http://${slugs[1]}.${a}.localhost/_gateway/install`);
    // Services and capacity are exported as declared; the file again, or the export, changes nothing (a
    // tenant the file places by capacity keeps its placement).
    expect(
      exported.body.instances.map(({ name, services, max_tenants, draining }) => [
        name,
        services,
        max_tenants,
        draining,
      ]),
    ).toEqual([
      [a, {}, 2, false],
      [b, { gui: { ...gui, timeout_ms: 30000 } }, 4, false],
      [c, {}, null, true],
    ]);
    for (const again of [{ instances, tenants: declared.slice(0, 6) }, exported.body]) {
      const res = await applyJson(again, '?prune=true');
      expect(res.body.summary).toEqual({ create: 0, update: 0, delete: 0, unchanged: 9 });
    }
  });

  test('an invalid file is 422 with paths into the file, and nothing is written', async () => {
    const { file } = sampleFile();
    const before = await Promise.all([rowCount(tenants), rowCount(auditLog)]);
    const bad = structuredClone(file) as Record<string, unknown> & typeof file;
    (bad.tenants[1] as Record<string, unknown>).rate_limit = { requests_per_minute: -5 };
    (bad.instances[0] as Record<string, unknown>).upstreams = ['ftp://nope'];
    const res = await applyJson({
      ...bad,
      tenants: [...bad.tenants, { ...bad.tenants[1], slug: 'x', name: 'x', colour: 'red' }],
    });
    expect(res.status).toBe(422);
    const error = (res.body as unknown as { error: { code: string; details: { path: string }[] } }).error;
    expect(error.code).toBe('validation_failed');
    const paths = error.details.map((d) => d.path);
    expect(paths).toContain('tenants.1.rate_limit.requests_per_minute');
    expect(paths).toContain('tenants.2.rate_limit.requests_per_minute');
    expect(paths.some((p) => p.startsWith('tenants.2'))).toBe(true);

    // Schema-valid, but the rules each resource checks: an upstream, a domain, a reserved slug, a repeat.
    const rules = structuredClone(file);
    rules.instances[0].upstreams = ['ftp://nope'];
    rules.tenants[0].domains = ['control.localhost'];
    const semantic = await applyJson({ ...rules, tenants: [...rules.tenants, { ...rules.tenants[1] }] });
    expect(semantic.status).toBe(422);
    const semanticPaths = (
      semantic.body as unknown as { error: { details: { path: string }[] } }
    ).error.details.map((d) => d.path);
    expect(semanticPaths).toEqual(['instances.0.upstreams.0', 'tenants.0.domains.0', 'tenants.2.slug']);

    // A tenant on an instance that does not exist: found inside the transaction, which rolls back.
    const missing = structuredClone(file);
    missing.tenants[1].instance = unique('nowhere');
    const unknown = await applyJson(missing);
    expect(unknown.status).toBe(422);
    expect((unknown.body as unknown as { error: { details: { path: string }[] } }).error.details).toEqual([
      { path: 'tenants.1.instance', message: expect.any(String) },
    ]);
    const reserved = await applyJson({
      tenants: [{ slug: 'admin', name: 'Admin', instance: file.instances[0].name }],
      instances: file.instances,
    });
    expect(reserved.status).toBe(422);
    expect((reserved.body as unknown as { error: { code: string } }).error.code).toBe('slug_reserved');

    expect(await Promise.all([rowCount(tenants), rowCount(auditLog)])).toEqual(before);
    expect(
      (await call('PUT', '/v1/config', { body: 'instances: [', contentType: 'application/yaml' })).status,
    ).toBe(400);
    expect((await call('PUT', '/v1/config', { body: '{}', contentType: 'text/plain' })).status).toBe(415);
  });

  test('YAML and JSON give identical results', async () => {
    const a = sampleFile();
    const b = sampleFile();
    const rename = (s: string) =>
      s.replaceAll(b.instance, a.instance).replaceAll(b.acme, a.acme).replaceAll(b.beta, a.beta);
    const fromJson = await applyJson(a.file, '?dry_run=true');
    const fromYaml = await applyYaml(stringifyYaml(b.file), '?dry_run=true');
    expect(fromYaml.status).toBe(200);
    expect(JSON.parse(rename(JSON.stringify(fromYaml.body)))).toEqual(fromJson.body);

    expect((await applyYaml(stringifyYaml(a.file))).status).toBe(200);
    // The same file in JSON is now a no-op, and the stored tenant matches the one made from JSON.
    const again = await applyJson(a.file);
    expect(again.body.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
    expect((await applyJson(b.file)).status).toBe(200);
    const rows = await withConfigDb((db) => db.select().from(tenants));
    const strip = (t: (typeof rows)[number]) => ({
      ...t,
      id: '',
      slug: '',
      schemaName: '',
      homeInstanceId: '',
      createdAt: 0,
      updatedAt: 0,
    });
    const fromA = rows.find((t) => t.slug === a.acme);
    const fromB = rows.find((t) => t.slug === b.acme);
    expect(fromA && strip(fromA)).toEqual(fromB && strip(fromB));
  });
});

describe('upstream and inject_headers in a file', () => {
  test('literal values sealed; {set: true} keeps; {from_env} refused by name; export → apply unchanged', async () => {
    const { instance, acme, file } = sampleFile();
    const tenant = file.tenants[0] as Record<string, unknown>;
    tenant.upstream = { upstreams: [`${env.TEST_UPSTREAM_URL_B}/own`], timeout_ms: 4000 };
    tenant.inject_headers = { 'X-Smtp-Password': 'file-secret-1', 'X-Smtp-User': 'acme' };
    const created = await applyJson(file);
    expect(created.status).toBe(200);
    const secret = created.body.changes.find((c) => c.kind === 'key')?.secret as string;
    const [row] = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    expect(row.upstream).toEqual(tenant.upstream);
    expect(JSON.stringify(row.injectHeaders)).not.toContain('file-secret-1');
    // The same literal values again: unchanged, nothing sealed anew.
    const again = await applyJson(file);
    expect(again.body.changes.find((c) => c.name === acme)?.action).toBe('unchanged');

    // Export shows {set: true} only; applied back, it changes nothing and keeps every value.
    const exported = await call<{ tenants: { slug: string; inject_headers: unknown; upstream: unknown }[] }>(
      'GET',
      '/v1/config',
    );
    expect(exported.text).not.toContain('file-secret-1');
    const mine = exported.body.tenants.find((t) => t.slug === acme);
    expect(mine).toMatchObject({
      upstream: tenant.upstream,
      inject_headers: { 'X-Smtp-Password': { set: true }, 'X-Smtp-User': { set: true } },
    });
    const reapplied = await applyJson(exported.body);
    expect(reapplied.body.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
    const proxied = await app.fetch(
      new Request(`http://${acme}.${instance}.localhost/mail`, {
        headers: { authorization: `Bearer ${secret}` },
      }),
      configEnv,
      ctx,
    );
    const echo = (await proxied.json()) as { upstream: string; headers: Record<string, string> };
    expect([echo.upstream, echo.headers['x-smtp-password']]).toEqual(['b', 'file-secret-1']);

    // One value changed, the other kept by {set: true}: an update naming the field.
    tenant.inject_headers = { 'X-Smtp-Password': 'file-secret-2', 'X-Smtp-User': { set: true } };
    const changed = await applyJson(file);
    expect(changed.body.changes.find((c) => c.name === acme)).toMatchObject({
      action: 'update',
      fields: ['inject_headers'],
    });
    const [after] = await withConfigDb((db) => db.select().from(tenants).where(eq(tenants.slug, acme)));
    expect(after.injectHeaders['X-Smtp-User']).toEqual(row.injectHeaders['X-Smtp-User']);

    // {from_env} is the script's to resolve: the gateway refuses it by path, before anything else.
    const auditBefore = await rowCount(auditLog);
    tenant.inject_headers = { 'X-Smtp-Password': { from_env: 'ACME_SMTP_PASSWORD' }, Cookie: 'x' };
    const unresolved = await applyJson(file);
    expect(unresolved.status).toBe(422);
    const error = (unresolved.body as unknown as { error: { details: { path: string; message: string }[] } })
      .error;
    expect(error.details).toEqual([
      { path: 'tenants.0.inject_headers.X-Smtp-Password', message: expect.stringContaining('config:apply') },
    ]);
    // Keeping a header that has no value, or a reserved name: 422 with the path into the file.
    tenant.inject_headers = { 'X-Never-Set': { set: true } };
    const missing = await applyJson(file);
    expect((missing.body as unknown as { error: { details: { path: string }[] } }).error.details).toEqual([
      { path: 'tenants.0.inject_headers.X-Never-Set', message: expect.any(String) },
    ]);
    tenant.inject_headers = { Authorization: 'Bearer x' };
    const reserved = await applyJson(file);
    expect((reserved.body as unknown as { error: { details: { path: string }[] } }).error.details).toEqual([
      { path: 'tenants.0.inject_headers.Authorization', message: expect.any(String) },
    ]);
    expect(await rowCount(auditLog)).toBe(auditBefore);
  });
});

describe('GET /v1/config', () => {
  test('export then apply is a no-op, in JSON and in YAML', async () => {
    const { file } = sampleFile();
    expect((await applyJson(file)).status).toBe(200);
    const exported = await call<{ instances: unknown[]; tenants: { slug: string }[] }>('GET', '/v1/config');
    expect(exported.status).toBe(200);
    expect(exported.text).not.toMatch(/whsec_|gw_|signing_secret|key_hash/);
    expect(exported.body.tenants.length).toBeGreaterThan(1);
    const res = await applyJson(exported.body);
    expect(res.status).toBe(200);
    expect(res.body.summary).toMatchObject({ create: 0, update: 0, delete: 0 });

    const yaml = await call('GET', '/v1/config', { accept: 'application/yaml' });
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parseYaml(yaml.text)).toEqual(exported.body);
    const fromYaml = await applyYaml(yaml.text, '?prune=true');
    expect(fromYaml.status).toBe(200);
    expect(fromYaml.body.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
  });

  test('is for operators only', async () => {
    expect((await call('GET', '/v1/config', { key: 'gw_nothing' })).status).toBe(401);
    expect(
      (await call('PUT', '/v1/config', { key: 'gw_nothing', body: '{}', contentType: 'application/json' }))
        .status,
    ).toBe(401);
  });
});
