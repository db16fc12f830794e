// Sealing-key rotation (SEALING_KEY lists keys, newest first; POST /v1/sealing-key/reseal), on a database
// of its own: the re-seal touches every instance of the database it runs on.
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect, test } from 'vitest';
import { createApp } from '../../src/app';
import { openSealed, seal } from '../../src/core/crypto/seal';
import { connectDatabase } from '../../src/db/client';
import { auditLog, instances, tenants } from '../../src/db/schema';
import { unique } from './helpers';

const app = createApp();
const ctx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;
const OLD = env.SEALING_KEY;
const NEW = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

async function call<T>(
  sealingKey: string,
  method: string,
  path: string,
  body?: unknown,
  key = env.ADMIN_API_KEY,
) {
  const res = await app.fetch(
    new Request(`http://control.localhost${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL, SEALING_KEY: sealingKey },
    ctx,
  );
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

async function proxied(sealingKey: string, host: string, secret: string) {
  const res = await app.fetch(
    new Request(`http://${host}/sealed`, { headers: { authorization: `Bearer ${secret}` } }),
    { ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL, SEALING_KEY: sealingKey },
    ctx,
  );
  await res.arrayBuffer();
  return res.status;
}

/** An active tenant on `instance` with a proxy key, made under `sealingKey`. */
async function tenantOn(sealingKey: string, instance: string) {
  const slug = unique('s');
  const made = await call<{ tenant: { id: string } }>(sealingKey, 'POST', '/v1/tenants', {
    name: slug,
    instance,
  });
  expect(made.status).toBe(201);
  await call(sealingKey, 'PATCH', `/v1/tenants/${made.body.tenant.id}`, { status: 'active' });
  const key = await call<{ secret: string }>(sealingKey, 'POST', `/v1/tenants/${made.body.tenant.id}/keys`, {
    name: 'k',
    scopes: ['proxy:read'],
  });
  return { host: `${slug}.${instance}.localhost`, secret: key.body.secret };
}

async function sealedOf(name: string): Promise<string> {
  const conn = await connectDatabase({ ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL });
  try {
    const [row] = await conn.db.select().from(instances).where(eq(instances.name, name));
    return row.signingSecretSealed;
  } finally {
    await conn.close();
  }
}

test('rotating SEALING_KEY: opened with any listed key, re-sealed with the newest in one call, old key dropped', async () => {
  const before = unique('i');
  expect(
    (await call(OLD, 'POST', '/v1/instances', { name: before, upstreams: [env.TEST_UPSTREAM_URL] })).status,
  ).toBe(201);
  const early = await tenantOn(OLD, before);
  // The new key in front: what the old one sealed still opens; a new instance is sealed with the new one.
  const both = `${NEW},${OLD}`;
  expect(await proxied(both, early.host, early.secret)).toBe(200);
  const after = unique('i');
  expect(
    (await call(both, 'POST', '/v1/instances', { name: after, upstreams: [env.TEST_UPSTREAM_URL] })).status,
  ).toBe(201);
  expect((await openSealed(await sealedOf(after), both)).newest).toBe(true);

  // One instance sealed under a key nobody lists any more: reported, never touched.
  const lost = unique('i');
  expect(
    (await call(OLD, 'POST', '/v1/instances', { name: lost, upstreams: [env.TEST_UPSTREAM_URL] })).status,
  ).toBe(201);
  const conn = await connectDatabase({ ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL });
  const gone = await seal('whsec_unknown', 'a-key-no-one-has');
  await conn.db.update(instances).set({ signingSecretSealed: gone }).where(eq(instances.name, lost));
  await conn.close();

  // Operators with `admin` only: a read-only operator key may not.
  const reader = await call<{ secret: string }>(OLD, 'POST', '/v1/keys', { name: 'r', scopes: ['read'] });
  expect(reader.status).toBe(201);
  const refused = await call(both, 'POST', '/v1/sealing-key/reseal', undefined, reader.body.secret);
  expect(refused.status).toBe(403);

  const report = await call<{ resealed: string[]; current: string[]; unreadable: string[] }>(
    both,
    'POST',
    '/v1/sealing-key/reseal',
  );
  expect(report.status).toBe(200);
  expect(report.body.resealed).toContain(before);
  expect(report.body.current).toContain(after);
  expect(report.body.unreadable).toEqual([lost]);
  expect(await sealedOf(lost)).toBe(gone);
  expect((await openSealed(await sealedOf(before), NEW)).newest).toBe(true);
  const again = await call<{ resealed: string[] }>(both, 'POST', '/v1/sealing-key/reseal');
  expect(again.body.resealed).toEqual([]);

  // The old key dropped: a tenant first loaded now (so from Postgres) is forwarded, signed as before.
  const late = await tenantOn(NEW, before);
  expect(await proxied(NEW, late.host, late.secret)).toBe(200);

  const audit = await connectDatabase({ ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL });
  const rows = await audit.db.select().from(auditLog).where(eq(auditLog.action, 'reseal'));
  await audit.close();
  expect(rows.map((r) => (r.after as { name: string }).name)).toContain(before);
  expect(JSON.stringify(rows)).not.toMatch(/whsec_|v1\./);
});

test('re-sealing covers injected header values: re-sealed with the newest key, still forwarded; unreadable ones reported', async () => {
  const instance = unique('i');
  expect(
    (await call(OLD, 'POST', '/v1/instances', { name: instance, upstreams: [env.TEST_UPSTREAM_URL] })).status,
  ).toBe(201);
  const withHeader = async (value: string) => {
    const t = await tenantOn(OLD, instance);
    const slug = t.host.split('.')[0];
    const set = await call(OLD, 'PATCH', `/v1/tenants/${slug}`, {
      inject_headers: { 'X-Smtp-Password': value },
    });
    expect(set.status).toBe(200);
    return { ...t, slug };
  };
  const kept = await withHeader('kept-through-rotation');
  const lost = await withHeader('lost-with-its-key');
  const conn = await connectDatabase({ ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL });
  const sealedOfTenant = async (slug: string) =>
    (await conn.db.select().from(tenants).where(eq(tenants.slug, slug)))[0].injectHeaders['X-Smtp-Password'];
  try {
    const before = await sealedOfTenant(kept.slug);
    const gone = { ...(await sealedOfTenant(lost.slug)), sealed: await seal('lost', 'a-key-no-one-has') };
    await conn.db
      .update(tenants)
      .set({ injectHeaders: { 'X-Smtp-Password': gone } })
      .where(eq(tenants.slug, lost.slug));

    const both = `${NEW},${OLD}`;
    const report = await call<{ tenants: { resealed: string[]; current: string[]; unreadable: string[] } }>(
      both,
      'POST',
      '/v1/sealing-key/reseal',
    );
    expect(report.status).toBe(200);
    expect(report.body.tenants.resealed).toContain(kept.slug);
    expect(report.body.tenants.unreadable).toContain(lost.slug);
    expect(report.body.tenants.resealed).not.toContain(lost.slug);
    const after = await sealedOfTenant(kept.slug);
    expect(after.updated_at).toBe(before.updated_at);
    expect(await openSealed(after.sealed, NEW)).toEqual({ plaintext: 'kept-through-rotation', newest: true });
    expect((await sealedOfTenant(lost.slug)).sealed).toBe(gone.sealed);
    const again = await call<{ tenants: { resealed: string[]; current: string[] } }>(
      both,
      'POST',
      '/v1/sealing-key/reseal',
    );
    expect(again.body.tenants.resealed).toEqual([]);
    expect(again.body.tenants.current).toContain(kept.slug);

    // The old key dropped: the value still reaches the upstream; the unreadable tenant answers 502, never
    // forwarding without its header.
    const forward = (t: { host: string; secret: string }) =>
      app.fetch(
        new Request(`http://${t.host}/mail`, { headers: { authorization: `Bearer ${t.secret}` } }),
        { ...env, DATABASE_URL: env.TEST_SEALING_DATABASE_URL, SEALING_KEY: NEW },
        ctx,
      );
    const ok = await forward(kept);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { headers: Record<string, string> }).headers['x-smtp-password']).toBe(
      'kept-through-rotation',
    );
    const refused = await forward(lost);
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({ error: { code: 'upstream_unavailable' } });
    const audit = await conn.db.select().from(auditLog).where(eq(auditLog.action, 'reseal'));
    expect(audit.some((r) => r.resource === 'tenant')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('kept-through-rotation');
  } finally {
    await conn.close();
  }
});
