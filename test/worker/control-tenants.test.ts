import { env, exports } from 'cloudflare:workers';
import { and, asc, eq, sql } from 'drizzle-orm';
import { describe, expect, test, vi } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { sha256Hex } from '../../src/core/crypto/secrets';
import { events, installTokens, recoveryTokens, tenants } from '../../src/db/schema';
import { now } from './clock';
import { installedTenant } from './console-client';
import {
  api,
  type ErrorBody,
  errorCode,
  newInstance,
  newKey,
  newTenant,
  type TenantJson,
} from './control-client';
import { gatewayFetch, unique, withDb } from './helpers';

type Created = { tenant: TenantJson; install_token: string; install_url: string };
type Page = { data: TenantJson[]; next_cursor: string | null };

describe('POST /v1/tenants', () => {
  test('creates a pending tenant with its slug, schema, placements, defaults and a hashed install token', async () => {
    const home = await newInstance();
    const other = await newInstance();
    const suffix = unique('');
    const res = await api<Created>('POST', '/v1/tenants', {
      body: { name: `Company-X ${suffix}`, instance: home, instances: [other] },
    });
    expect(res.status).toBe(201);
    const { tenant, install_token, install_url } = res.body;
    expect(tenant.id).toMatch(/^ten_/);
    expect(tenant.slug).toBe(`companyx${suffix}`);
    expect(tenant.schema_name).toBe(`t_companyx${suffix}`);
    expect(tenant.status).toBe('pending');
    expect(tenant.instance).toBe(home);
    expect(tenant.instances).toEqual([home, other].sort());
    expect(tenant.domains).toEqual([]);
    expect(tenant.rate_limit).toBeNull();
    expect(tenant.auth).toEqual({ mode: 'required', public_paths: [] });
    expect(tenant.routes).toEqual([]);
    expect(tenant.limits).toEqual({ on_gate_error: 'closed', on_stale: 'serve', mode: 'enforce' });
    expect(tenant.settings).toEqual({});
    expect(install_token).toMatch(/^gwi_[0-9A-Za-z]{40}$/);
    // Locally (*.localhost) over http, with the dev port when there is one (none here).
    expect(install_url).toBe(`http://${tenant.slug}.${home}.localhost/_gateway/install`);
    expect(tenant.urls).toEqual([
      { service: 'default', base_domain: 'localhost', url: `http://${tenant.slug}.${home}.localhost` },
    ]);

    const stored = await withDb((db) =>
      db.select().from(installTokens).where(eq(installTokens.tenantId, tenant.id)),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0].tokenHash).toBe(await sha256Hex(install_token));
    const days = (stored[0].expiresAt.getTime() - now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    const outbox = await withDb((db) => db.select().from(events).where(eq(events.tenantId, tenant.id)));
    expect(outbox).toHaveLength(1);
    expect(outbox[0].type).toBe('tenant.created');
    expect(outbox[0].id).toMatch(/^evt_/);
    expect(outbox[0].payload).toMatchObject({
      id: outbox[0].id,
      type: 'tenant.created',
      tenant: {
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        schema_name: tenant.schema_name,
        status: 'pending',
        settings: {},
      },
    });
  });

  test('takes every field, domains and the domain shorthand', async () => {
    const home = await newInstance();
    const a = `${unique('a')}.example.com`;
    const b = `${unique('b')}.example.com`;
    const body = {
      name: unique('Full '),
      slug: unique('full'),
      instance: home,
      domains: [a.toUpperCase()],
      domain: `${b}.`,
      rate_limit: { requests_per_minute: 100, requests_per_day: 10000 },
      auth: { mode: 'optional', public_paths: ['/health', '/static/*'] },
      routes: [{ methods: ['post'], path: '/emails/*', scope: 'send' }],
      limits: { on_gate_error: 'open' },
      settings: { plan: 'pro', nested: { x: 1 } },
    };
    const res = await api<Created>('POST', '/v1/tenants', { body });
    expect(res.status).toBe(201);
    expect(res.body.tenant).toMatchObject({
      slug: body.slug,
      domains: [a, b].sort(),
      rate_limit: body.rate_limit,
      auth: body.auth,
      routes: [{ methods: ['POST'], path: '/emails/*', scope: 'send' }],
      limits: { on_gate_error: 'open' },
      settings: body.settings,
    });
  });

  test('slug rules: 409 slug_conflict when names reduce to one slug, 422 slug_reserved, 422 when empty', async () => {
    const home = await newInstance();
    const base = unique('acme');
    const first = await api('POST', '/v1/tenants', { body: { name: `${base}-x`, instance: home } });
    expect(first.status).toBe(201);
    const second = await api('POST', '/v1/tenants', {
      body: { name: `${base.toUpperCase()} X`, instance: home },
    });
    expect(second.status).toBe(409);
    expect(errorCode(second)).toBe('slug_conflict');
    const bySlug = await api('POST', '/v1/tenants', {
      body: { name: 'other', slug: `${base}x`, instance: home },
    });
    expect(errorCode(bySlug)).toBe('slug_conflict');

    for (const slug of ['admin', 'public', 'Control']) {
      const reserved = await api<ErrorBody>('POST', '/v1/tenants', {
        body: { name: 'x', slug, instance: home },
      });
      expect(reserved.status).toBe(422);
      expect(reserved.body.error.code).toBe('slug_reserved');
      expect(reserved.body.error.details?.[0].path).toBe('slug');
    }
    const empty = await api<ErrorBody>('POST', '/v1/tenants', { body: { name: '!!! ---', instance: home } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('validation_failed');
    expect(empty.body.error.details?.[0].path).toBe('slug');
    // Every label of a base domain, so that no tenant host reads as one (`mygw.localhost` is one here).
    const label = await api<ErrorBody>('POST', '/v1/tenants', {
      body: { name: 'My GW', instance: home },
      vars: { BASE_DOMAINS: 'localhost,my-gw.localhost=gui' },
    });
    expect([label.status, label.body.error.code]).toEqual([422, 'slug_reserved']);
    expect(label.body.error.message).toBe(
      'slug "mygw" is reserved: it is a label of base domain my-gw.localhost',
    );
  });

  test('urls: one per base domain whose service the home instance has; install_url on the gui host', async () => {
    const name = unique('i');
    const services = { gui: { upstreams: [env.TEST_UPSTREAM_URL_B] } };
    await api('POST', '/v1/instances', { body: { name, upstreams: [env.TEST_UPSTREAM_URL], services } });
    const res = await api<Created>('POST', '/v1/tenants', {
      body: { name: unique('Urls '), instance: name },
    });
    const { slug } = res.body.tenant;
    expect(res.body.tenant.urls).toEqual([
      { service: 'default', base_domain: 'localhost', url: `http://${slug}.${name}.localhost` },
      { service: 'gui', base_domain: 'app.localhost', url: `http://${slug}.${name}.app.localhost` },
    ]);
    expect(res.body.install_url).toBe(`http://${slug}.${name}.app.localhost/_gateway/install`);
    const page = await gatewayFetch(res.body.install_url, { headers: { accept: 'text/html' } });
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=UTF-8']);
    // Under real base domains always https; the order is BASE_DOMAINS's; locally the dev port (PORT).
    const deployed = await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${slug}`, {
      vars: { BASE_DOMAINS: 'app.example.com=gui,api.example.com=api,gw.example.com' },
    });
    expect(deployed.body.tenant.urls).toEqual([
      { service: 'gui', base_domain: 'app.example.com', url: `https://${slug}.${name}.app.example.com` },
      { service: 'default', base_domain: 'gw.example.com', url: `https://${slug}.${name}.gw.example.com` },
    ]);
    const local = await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${slug}`, { vars: { PORT: '8787' } });
    expect(local.body.tenant.urls[1].url).toBe(`http://${slug}.${name}.app.localhost:8787`);
  });

  test('validation: 422 with details for bad fields, unknown fields and unknown instances', async () => {
    const home = await newInstance();
    const cases: [Record<string, unknown>, string][] = [
      [{ instance: home }, 'name'],
      [{ name: 'x', instance: '' }, 'instance'],
      [{ name: unique('n'), instance: unique('nosuch') }, 'instance'],
      [{ name: unique('n'), instance: home, instances: ['nosuch-x'] }, 'instances.0'],
      [
        { name: unique('n'), instance: home, rate_limit: { requests_per_minute: 0, requests_per_day: null } },
        'rate_limit.requests_per_minute',
      ],
      [{ name: unique('n'), instance: home, auth: { mode: 'sometimes' } }, 'auth.mode'],
      [{ name: unique('n'), instance: home, routes: [{ path: 'emails', scope: 'send' }] }, 'routes.0.path'],
      [{ name: unique('n'), instance: home, routes: [{ path: '/x', scope: 'Bad Scope' }] }, 'routes.0.scope'],
      [{ name: unique('n'), instance: home, settings: [1, 2] }, 'settings'],
      [{ name: unique('n'), instance: home, domains: ['not a host'] }, 'domains.0'],
      [{ name: unique('n'), instance: home, domain: 'x.localhost' }, 'domain'],
      [{ name: unique('n'), instance: home, domains: ['control.localhost'] }, 'domains.0'],
      [{ name: unique('n'), instance: home, domains: ['10.0.0.1'] }, 'domains.0'],
      [{ name: unique('n'), instance: home, status: 'active' }, 'status'],
    ];
    for (const [body, path] of cases) {
      const res = await api<ErrorBody>('POST', '/v1/tenants', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details?.map((d) => d.path)).toContain(path);
    }
  });

  test('malformed JSON → 400 bad_request; a body that is not JSON → 415', async () => {
    const malformed = await api('POST', '/v1/tenants', { body: '{"name": "x",' });
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed)).toBe('bad_request');
    const form = await api('POST', '/v1/tenants', {
      body: 'name=x&instance=y',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(errorCode(form)).toBe('unsupported_media_type');
    const text = await api('POST', '/v1/tenants', { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  test('a domain another tenant has → 409 conflict, and nothing of the new tenant is left behind', async () => {
    const hostname = `${unique('taken')}.example.com`;
    await newTenant({ domains: [hostname] });
    const slug = unique('second');
    const res = await api('POST', '/v1/tenants', {
      body: { name: slug, instance: await newInstance(), domain: hostname },
    });
    expect(res.status).toBe(409);
    expect(errorCode(res)).toBe('conflict');
    expect((await api('GET', `/v1/tenants/${slug}`)).status).toBe(404);
  });
});

describe('GET /v1/tenants', () => {
  test('pages through more than one page by cursor, filters by status and q', async () => {
    const marker = unique('pg');
    const home = await newInstance();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api<Created>('POST', '/v1/tenants', {
        body: { name: `${marker} Tenant ${i}`, instance: home },
      });
      made.push(res.body.tenant.slug);
    }
    await api('PATCH', `/v1/tenants/${made[1]}`, { body: { status: 'suspended' } });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?q=${marker.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res: { status: number; body: Page } = await api<Page>('GET', `/v1/tenants${query}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((t) => t.slug));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].sort());

    const suspended = await api<Page>('GET', `/v1/tenants?q=${marker}&status=suspended`);
    expect(suspended.body.data.map((t) => t.slug)).toEqual([made[1]]);
    const pending = await api<Page>('GET', `/v1/tenants?q=${marker}&status=pending&limit=200`);
    expect(pending.body.data).toHaveLength(4);
    expect(pending.body.next_cursor).toBeNull();
  });

  test('q treats % and _ literally', async () => {
    const res = await api<Page>('GET', '/v1/tenants?q=%25');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });

  test('bad limit, status or cursor → 422', async () => {
    for (const query of [
      'limit=0',
      'limit=201',
      'limit=abc',
      'status=deleted',
      'cursor=!!!',
      'cursor=bm90anNvbg',
    ]) {
      const res = await api<ErrorBody>('GET', `/v1/tenants?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });
});

describe('GET/PATCH/PUT/DELETE /v1/tenants/:tenant', () => {
  test('finds a tenant by id or slug; 404 otherwise', async () => {
    const { tenant } = await newTenant();
    const byId = await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${tenant.id}`);
    const bySlug = await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${tenant.slug}`);
    expect(byId.status).toBe(200);
    expect(byId.body.tenant).toEqual(tenant);
    expect(bySlug.body.tenant).toEqual(tenant);
    const missing = await api('GET', `/v1/tenants/${unique('nosuch')}`);
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('not_found');
  });

  test('PATCH merges, bumps the version, writes an event per change (suspension its own)', async () => {
    const { tenant } = await newTenant({
      settings: { a: 1 },
      rate_limit: { requests_per_minute: 10, requests_per_day: null },
    });
    const versionOf = async () =>
      (
        await withDb((db) => db.select({ v: tenants.version }).from(tenants).where(eq(tenants.id, tenant.id)))
      )[0].v;
    const v1 = await versionOf();
    const res = await api<{ tenant: TenantJson }>('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { name: 'Renamed', status: 'active' },
    });
    expect(res.status).toBe(200);
    expect(res.body.tenant).toMatchObject({
      name: 'Renamed',
      status: 'active',
      slug: tenant.slug,
      settings: { a: 1 },
      rate_limit: { requests_per_minute: 10, requests_per_day: null },
      instance: tenant.instance,
    });
    expect(await versionOf()).toBe(v1 + 1);
    const suspended = await api<{ tenant: TenantJson }>('PATCH', `/v1/tenants/${tenant.slug}`, {
      body: { status: 'suspended' },
    });
    expect(suspended.body.tenant.status).toBe('suspended');
    const types = await withDb((db) =>
      db
        .select({ type: events.type })
        .from(events)
        .where(eq(events.tenantId, tenant.id))
        .orderBy(asc(events.seq)),
    );
    expect(types.map((t) => t.type)).toEqual(['tenant.created', 'tenant.updated', 'tenant.suspended']);
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'pending' } })).status).toBe(
      422,
    );
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { slug: 'other' } })).status).toBe(422);
  });

  test('PATCH moves the home instance and keeps placements; instances always include home', async () => {
    const { tenant } = await newTenant();
    const next = await newInstance();
    const moved = await api<{ tenant: TenantJson }>('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { instance: next },
    });
    expect(moved.body.tenant.instance).toBe(next);
    expect(moved.body.tenant.instances).toEqual([tenant.instance as string, next].sort());
    const narrowed = await api<{ tenant: TenantJson }>('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { instances: [] },
    });
    expect(narrowed.body.tenant.instances).toEqual([next]);
  });

  test('a new placement needs room (409 instance_full naming it); placements the tenant has are kept', async () => {
    const { tenant } = await newTenant();
    const full = await newInstance();
    await api('PATCH', `/v1/instances/${full}`, { body: { max_tenants: 0 } });
    const refused = await api<ErrorBody>('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { instances: [full] },
    });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'instance_full']);
    expect(refused.body.error.details).toEqual([
      { path: 'instances.0', message: `instance ${full} is full: 0 of 0 tenants` },
    ]);
    const home = await api<ErrorBody>('PUT', `/v1/tenants/${tenant.id}`, {
      body: { name: tenant.name, instance: full },
    });
    expect([home.status, home.body.error.details?.[0].path]).toEqual([409, 'instance']);
    // Its own instance filled up (or draining) under it: the tenant stays, and changes as before.
    await api('PATCH', `/v1/instances/${tenant.instance}`, { body: { max_tenants: 1, draining: true } });
    const kept = await api<{ tenant: TenantJson }>('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { name: 'Kept', instances: [] },
    });
    expect([kept.status, kept.body.tenant.instances]).toEqual([200, [tenant.instance]]);
  });

  test('PUT replaces every mutable field: what is left out returns to its default', async () => {
    const hostname = `${unique('put')}.example.com`;
    const { tenant } = await newTenant({
      domains: [hostname],
      settings: { a: 1 },
      auth: { mode: 'none', public_paths: [] },
      routes: [{ path: '/x', scope: 'x' }],
      limits: { on_gate_error: 'open' },
      rate_limit: { requests_per_minute: 5, requests_per_day: 50 },
    });
    const res = await api<{ tenant: TenantJson }>('PUT', `/v1/tenants/${tenant.slug}`, {
      body: { name: 'Replaced', instance: tenant.instance },
    });
    expect(res.status).toBe(200);
    expect(res.body.tenant).toMatchObject({
      id: tenant.id,
      name: 'Replaced',
      slug: tenant.slug,
      status: 'pending',
      domains: [],
      settings: {},
      auth: { mode: 'required', public_paths: [] },
      routes: [],
      limits: { on_gate_error: 'closed' },
      rate_limit: null,
    });
    const withDomain = await api<{ tenant: TenantJson }>('PUT', `/v1/tenants/${tenant.slug}`, {
      body: { name: 'Replaced', instance: tenant.instance, domain: hostname, status: 'active' },
    });
    expect(withDomain.body.tenant).toMatchObject({ domains: [hostname], status: 'active' });
    const incomplete = await api<ErrorBody>('PUT', `/v1/tenants/${tenant.slug}`, { body: { name: 'x' } });
    expect(incomplete.status).toBe(422);
    expect(incomplete.body.error.details?.[0].path).toBe('instance');
  });

  test('PUT that would take another tenant’s domain → 409, and changes nothing', async () => {
    const hostname = `${unique('own')}.example.com`;
    await newTenant({ domain: hostname });
    const { tenant } = await newTenant();
    const res = await api('PUT', `/v1/tenants/${tenant.id}`, {
      body: { name: 'Other name', instance: tenant.instance, domains: [hostname] },
    });
    expect(res.status).toBe(409);
    expect(errorCode(res)).toBe('conflict');
    expect((await api<{ tenant: TenantJson }>('GET', `/v1/tenants/${tenant.id}`)).body.tenant).toEqual(
      tenant,
    );
  });

  test('DELETE removes the tenant with its keys and domains and writes tenant.deleted; public is protected', async () => {
    const hostname = `${unique('gone')}.example.com`;
    const { tenant } = await newTenant({ domain: hostname });
    await api('POST', `/v1/tenants/${tenant.id}/keys`, { body: { name: 'k', scopes: ['proxy:read'] } });
    const res = await api('DELETE', `/v1/tenants/${tenant.slug}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect((await api('GET', `/v1/tenants/${tenant.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/tenants/${tenant.id}`)).status).toBe(404);
    const deleted = await withDb((db) =>
      db
        .select()
        .from(events)
        .where(and(eq(events.tenantId, tenant.id), eq(events.type, 'tenant.deleted'))),
    );
    expect(deleted).toHaveLength(1);
    // The hostname is free again.
    await newTenant({ domain: hostname });

    for (const ref of ['public', 'ten_public']) {
      const protectedRes = await api('DELETE', `/v1/tenants/${ref}`);
      expect(protectedRes.status).toBe(409);
      expect(errorCode(protectedRes)).toBe('default_tenant_protected');
    }
  });
});

describe('POST /v1/tenants/:tenant/install-token', () => {
  test('issues a new token for a pending tenant; the earlier one stops working; 409 once installed', async () => {
    const created = await newTenant();
    const res = await api<{ install_token: string; install_url: string; expires_at: string }>(
      'POST',
      `/v1/tenants/${created.tenant.slug}/install-token`,
    );
    expect(res.status).toBe(201);
    expect(res.body.install_token).toMatch(/^gwi_/);
    expect(res.body.install_token).not.toBe(created.install_token);
    expect(res.body.install_url).toBe(created.install_url);
    expect(Date.parse(res.body.expires_at)).toBeGreaterThan(now() + 6 * 86_400_000);
    const stored = await withDb((db) =>
      db
        .select({ hash: installTokens.tokenHash })
        .from(installTokens)
        .where(eq(installTokens.tenantId, created.tenant.id)),
    );
    expect(stored.map((s) => s.hash)).toEqual([await sha256Hex(res.body.install_token)]);

    await api('PATCH', `/v1/tenants/${created.tenant.id}`, { body: { status: 'active' } });
    const installed = await api('POST', `/v1/tenants/${created.tenant.id}/install-token`);
    expect(installed.status).toBe(409);
    expect(errorCode(installed)).toBe('conflict');
    expect((await api('POST', `/v1/tenants/${unique('nosuch')}/install-token`)).status).toBe(404);
  });
});

describe('POST /v1/tenants/:tenant/recovery', () => {
  test('operators with admin get a 15-minute link on the console host, stored hashed, audited without it', async () => {
    const t = await installedTenant();
    const before = now();
    const res = await api<{ recovery_url: string; expires_at: string }>(
      'POST',
      `/v1/tenants/${t.tenant.slug}/recovery`,
    );
    expect(res.status).toBe(201);
    const url = new URL(res.body.recovery_url);
    expect(`${url.origin}${url.pathname}`).toBe(`http://${t.host}/_gateway/console/recover`);
    const token = url.searchParams.get('token') ?? '';
    expect(token).toMatch(/^gwr_[0-9A-Za-z]{40}$/);
    const expires = Date.parse(res.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 15 * 60_000 - 1000);
    expect(expires).toBeLessThanOrEqual(now() + 15 * 60_000);
    const rows = await withDb((db) =>
      db.select().from(recoveryTokens).where(eq(recoveryTokens.tenantId, t.tenant.id)),
    );
    expect(rows.map((r) => [r.tokenHash, r.createdBy, r.createdByName])).toEqual([
      [await sha256Hex(token), 'admin', 'ADMIN_API_KEY'],
    ]);
    // A second link replaces the unused first.
    const again = await api<{ recovery_url: string }>('POST', `/v1/tenants/${t.tenant.id}/recovery`);
    expect(again.status).toBe(201);
    const live = await withDb((db) =>
      db.select().from(recoveryTokens).where(eq(recoveryTokens.tenantId, t.tenant.id)),
    );
    expect(live).toHaveLength(1);
    expect(live[0].tokenHash).not.toBe(rows[0].tokenHash);

    // Audited (who made it), and no other answer carries the token or its hash.
    const audit = await api<{ data: { actor: string; resource: string; action: string }[] }>(
      'GET',
      `/v1/audit?tenant=${t.tenant.id}`,
    );
    const made = audit.body.data.filter((e) => e.resource === 'recovery_token' && e.action === 'create');
    expect(made.map((e) => e.actor)).toEqual(['admin', 'admin']);
    const answers = [
      JSON.stringify(audit.body),
      JSON.stringify((await api('GET', `/v1/tenants/${t.tenant.id}`)).body),
      JSON.stringify((await api('GET', '/v1/config')).body),
    ];
    for (const text of answers) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(rows[0].tokenHash);
    }
  });

  test('a tenant without an admin → 409; read keys → 403; tenant keys → 404, their own tenant too', async () => {
    const pending = await newTenant();
    const notInstalled = await api('POST', `/v1/tenants/${pending.tenant.id}/recovery`);
    expect(notInstalled.status).toBe(409);
    expect(errorCode(notInstalled)).toBe('tenant_not_installed');
    // Made active by an operator without an install: still no admin to recover.
    await api('PATCH', `/v1/tenants/${pending.tenant.id}`, { body: { status: 'active' } });
    expect(errorCode(await api('POST', `/v1/tenants/${pending.tenant.id}/recovery`))).toBe(
      'tenant_not_installed',
    );

    const t = await installedTenant();
    const reader = await api<{ secret: string }>('POST', '/v1/keys', {
      body: { name: 'r', scopes: ['read'] },
    });
    const read = await api('POST', `/v1/tenants/${t.tenant.id}/recovery`, { key: reader.body.secret });
    expect(read.status).toBe(403);
    expect(errorCode(read)).toBe('insufficient_scope');
    const own = await newKey(t.tenant.id, ['*']);
    const other = await newKey(pending.tenant.id, ['tenant:admin']);
    for (const key of [own.secret, other.secret, t.secret]) {
      const res = await api('POST', `/v1/tenants/${t.tenant.slug}/recovery`, { key });
      expect(res.status).toBe(404);
      expect(errorCode(res)).toBe('not_found');
    }
    expect((await api('POST', `/v1/tenants/${unique('nosuch')}/recovery`)).status).toBe(404);
    const made = await withDb((db) =>
      db.select().from(recoveryTokens).where(eq(recoveryTokens.tenantId, t.tenant.id)),
    );
    expect(made).toEqual([]);
  });
});

test('a POST without any body → 422 naming the missing fields; a body without Content-Type → 415', async () => {
  const empty = await api<ErrorBody>('POST', '/v1/tenants');
  expect(empty.status).toBe(422);
  // `instance` may be left out: the tenant is then placed by capacity.
  expect(empty.body.error.details?.map((d) => d.path)).toEqual(['name']);
  const bytes = await exports.default.fetch(
    new Request('http://control.localhost/v1/tenants', {
      method: 'POST',
      headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` },
      body: new TextEncoder().encode('{"name":"x"}'),
    }),
  );
  expect(bytes.status).toBe(415);
  expect(((await bytes.json()) as ErrorBody).error.code).toBe('unsupported_media_type');
});

describe('upstream and inject_headers', () => {
  type Headers = Record<string, { set: boolean; updated_at: string }>;
  const headersOf = async (tenantId: string) =>
    (await api<{ tenant: TenantJson & { inject_headers: Headers } }>('GET', `/v1/tenants/${tenantId}`)).body
      .tenant.inject_headers;

  test('write-only: answers show {set, updated_at}; PATCH keeps the names it leaves out, null removes; PUT replaces', async () => {
    const value = `pw-${crypto.randomUUID()}`;
    const created = await newTenant({
      upstream: { upstreams: [`${env.TEST_UPSTREAM_URL_B}/own/`] },
      inject_headers: { 'X-Smtp-Password': value, 'X-Smtp-User': 'acme' },
    });
    const tenant = created.tenant as TenantJson & { inject_headers: Headers; upstream: unknown };
    expect(tenant.upstream).toEqual({ upstreams: [`${env.TEST_UPSTREAM_URL_B}/own`], timeout_ms: 30000 });
    expect(tenant.inject_headers).toEqual({
      'X-Smtp-Password': { set: true, updated_at: expect.any(String) },
      'X-Smtp-User': { set: true, updated_at: expect.any(String) },
    });
    expect(JSON.stringify(created)).not.toContain(value);
    const [row] = await withDb((db) => db.select().from(tenants).where(eq(tenants.id, tenant.id)));
    expect(row.injectHeaders['X-Smtp-Password'].sealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(value);

    // PATCH one name (in another case): the other stays as it was; null removes; upstream null removes it.
    const patched = await api<{ tenant: { inject_headers: Headers; upstream: unknown } }>(
      'PATCH',
      `/v1/tenants/${tenant.id}`,
      { body: { inject_headers: { 'x-smtp-user': null, 'X-Api-Token': 'tok' }, upstream: null } },
    );
    expect(patched.status).toBe(200);
    expect(Object.keys(patched.body.tenant.inject_headers).sort()).toEqual([
      'X-Api-Token',
      'X-Smtp-Password',
    ]);
    expect(patched.body.tenant.inject_headers['X-Smtp-Password']).toEqual(
      tenant.inject_headers['X-Smtp-Password'],
    );
    expect(patched.body.tenant.upstream).toBeNull();

    // PUT: {set: true} (as answers show it) keeps a value; a name left out goes.
    const kept = await api<{ tenant: { inject_headers: Headers } }>('PUT', `/v1/tenants/${tenant.id}`, {
      body: {
        name: tenant.name,
        instance: tenant.instance,
        inject_headers: { 'X-Smtp-Password': patched.body.tenant.inject_headers['X-Smtp-Password'] },
      },
    });
    expect(kept.status).toBe(200);
    expect(kept.body.tenant.inject_headers).toEqual({
      'X-Smtp-Password': tenant.inject_headers['X-Smtp-Password'],
    });
    const [after] = await withDb((db) => db.select().from(tenants).where(eq(tenants.id, tenant.id)));
    expect(after.injectHeaders['X-Smtp-Password']).toEqual(row.injectHeaders['X-Smtp-Password']);
    const cleared = await api('PUT', `/v1/tenants/${tenant.id}`, {
      body: { name: tenant.name, instance: tenant.instance },
    });
    expect(cleared.status).toBe(200);
    expect(await headersOf(tenant.id)).toEqual({});
  });

  test('bad headers and upstreams → 422 validation_failed naming the field; nothing is written', async () => {
    const { tenant } = await newTenant({ inject_headers: { 'X-Kept': 'v' } });
    const patch = (body: Record<string, unknown>) =>
      api<ErrorBody>('PATCH', `/v1/tenants/${tenant.id}`, { body });
    const reserved = [
      'Connection',
      'Keep-Alive',
      'Proxy-Connection',
      'TE',
      'Trailer',
      'Transfer-Encoding',
      'Upgrade',
      'Proxy-Authorization',
      'Host',
      'Authorization',
      'Cookie',
      'X-Tenant-Id',
      'X-Tenant-Plan',
      'X-Gateway-Signature',
      'X-Gateway-Anything',
      'X-Forwarded-For',
      'X-Forwarded-Custom',
      'X-Request-Id',
    ];
    const twentyOne = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v']));
    const cases: [Record<string, unknown>, string][] = [
      ...reserved.map((name): [Record<string, unknown>, string] => [
        { inject_headers: { [name]: 'v' } },
        `inject_headers.${name}`,
      ]),
      [{ inject_headers: { 'Not A Token': 'v' } }, 'inject_headers.Not A Token'],
      [{ inject_headers: { 'X-Big': 'x'.repeat(4097) } }, 'inject_headers.X-Big'],
      [{ inject_headers: { 'X-Line': 'a\r\nX-Evil: 1' } }, 'inject_headers.X-Line'],
      [{ inject_headers: { 'X-Edge': ' padded' } }, 'inject_headers.X-Edge'],
      [{ inject_headers: { 'X-Euro': '€' } }, 'inject_headers.X-Euro'],
      [{ inject_headers: { 'X-Num': 5 } }, 'inject_headers.X-Num'],
      [{ inject_headers: { 'X-Dup': 'a', 'x-dup': 'b' } }, 'inject_headers.x-dup'],
      [{ inject_headers: twentyOne }, 'inject_headers'],
      // Twenty more beside the one stored: 21 in all.
      [{ inject_headers: twenty }, 'inject_headers'],
      [{ inject_headers: { 'X-Never-Set': { set: true } } }, 'inject_headers.X-Never-Set'],
      [{ upstream: { upstreams: ['ftp://backend.example'] } }, 'upstream.upstreams.0'],
      [{ upstream: { upstreams: [] } }, 'upstream.upstreams'],
      [{ upstream: { upstreams: ['https://a.example'], timeout_ms: 5 } }, 'upstream.timeout_ms'],
      [{ upstream: { upstreams: ['https://a.example'], extra: 1 } }, 'upstream.extra'],
    ];
    for (const [body, path] of cases) {
      const res = await patch(body);
      expect(res.status, path).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(
        res.body.error.details?.map((d) => d.path),
        path,
      ).toContain(path);
      expect(JSON.stringify(res.body)).not.toContain('X-Evil');
    }
    // The same rules on create; and at exactly the limits it is taken.
    const onCreate = await api<ErrorBody>('POST', '/v1/tenants', {
      body: { name: unique('n'), instance: tenant.instance, inject_headers: { Cookie: 'a=1' } },
    });
    expect(onCreate.body.error.details?.map((d) => d.path)).toEqual(['inject_headers.Cookie']);
    expect(Object.keys(await headersOf(tenant.id))).toEqual(['X-Kept']);
    const full = await newTenant({ inject_headers: { ...twenty, 'X-H0': 'x'.repeat(4096) } });
    expect(Object.keys((full.tenant as unknown as { inject_headers: Headers }).inject_headers)).toHaveLength(
      20,
    );
  });

  test('sealed-value search: the plaintext reaches the upstream and nothing else, tables, answers and logs', async () => {
    const value = `sealed-search-${crypto.randomUUID()}`;
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      }),
    );
    const answers: string[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await api(method, path, { body });
      answers.push(JSON.stringify(res.body));
      return res;
    };
    try {
      const created = await newTenant({ inject_headers: { 'X-Smtp-Password': value } });
      answers.push(JSON.stringify(created));
      const { id, slug } = created.tenant;
      await call('PATCH', `/v1/tenants/${id}`, { status: 'active', settings: { plan: 'pro' } });
      // Refused writes that carry it: their errors do not repeat it.
      await call('PATCH', `/v1/tenants/${id}`, { inject_headers: { Authorization: value } });
      await call('PATCH', `/v1/tenants/${id}`, { inject_headers: { 'X-Long': `${value} `.repeat(200) } });
      await call('PATCH', `/v1/tenants/${id}`, { inject_headers: { 'X-Smtp-Password': 7 } });
      const key = await call('POST', `/v1/tenants/${id}/keys`, { name: 'k', scopes: ['proxy:read'] });
      const secret = (key.body as { secret: string }).secret;

      const res = await gatewayFetch(`http://${slug}.${created.tenant.instance}.localhost/mail`, {
        headers: { authorization: `Bearer ${secret}`, 'x-smtp-password': 'from the client' },
      });
      const echo = (await res.json()) as EchoAnswer;
      expect(echo.headers['x-smtp-password']).toBe(value);

      for (const path of [
        `/v1/tenants/${id}`,
        `/v1/tenants?q=${slug}`,
        `/v1/audit?tenant=${id}&limit=200`,
        `/v1/events?tenant=${id}`,
        '/v1/config',
        `/v1/tenants/${id}/explain?path=/mail`,
      ]) {
        const answer = await call('GET', path);
        expect(answer.status, path).toBe(200);
      }
      const yaml = await exports.default.fetch(
        new Request('http://control.localhost/v1/config', {
          headers: { authorization: `Bearer ${env.ADMIN_API_KEY}`, accept: 'application/yaml' },
        }),
      );
      answers.push(new TextDecoder().decode(await yaml.arrayBuffer()));
      expect(answers.join('\n')).toContain('X-Smtp-Password');
      expect(answers.join('\n')).not.toContain(value);

      // Every row of every table, as text (the slug, for contrast, is found where it is stored).
      const tablesHolding = (text: string) =>
        withDb(async (db) => {
          const tables = await db.execute<{ name: string }>(
            sql`select table_name as name from information_schema.tables
                where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
          );
          const hits: string[] = [];
          for (const { name } of tables.rows) {
            const rows = await db.execute<{ n: number }>(
              sql`select count(*)::int as n from ${sql.identifier(name)} r where position(${text} in r::text) > 0`,
            );
            if (rows.rows[0].n > 0) hits.push(name);
          }
          return hits;
        });
      expect(await tablesHolding(id)).toEqual(expect.arrayContaining(['audit_log', 'events', 'tenants']));
      const found = await tablesHolding(value);
      expect(found).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(logged.join('\n')).not.toContain(value);
  });
});
