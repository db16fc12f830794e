import { env, exports } from 'cloudflare:workers';
import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { verifySignature } from '../../src/core/crypto/signing';
import { events } from '../../src/db/schema';
import { gatewayWait, now } from './clock';
import { api, errorCode, newInstance, newKey, newTenant } from './control-client';
import { unique, withDb } from './helpers';

type Delivery = {
  path: string;
  headers: Record<string, string>;
  body: string;
  outcome: 'ok' | 'fail' | 'drop';
  at: number;
};
type EventJson = {
  id: string;
  type: string;
  tenant_id: string;
  instance_id: string | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
  payload: { id: string; type: string; created_at: string; tenant: Record<string, unknown> };
};
type EventPage = { data: EventJson[]; next_cursor: string | null };

const receiver = env.TEST_HOOK_RECEIVER_URL;

/** An instance whose hooks go to their own path on the receiver. */
async function hookedInstance() {
  const path = `/hooks/${unique('p')}`;
  const name = unique('i');
  const res = await api<{ signing_secret: string }>('POST', '/v1/instances', {
    body: { name, upstreams: [env.TEST_UPSTREAM_URL], hooks_url: `${receiver}${path}` },
  });
  expect(res.status).toBe(201);
  return { name, path, secret: res.body.signing_secret };
}

async function received(path: string): Promise<Delivery[]> {
  const res = await fetch(`${receiver}/_receiver/received?path=${encodeURIComponent(path)}`);
  return res.json();
}

async function setMode(path: string, mode: 'ok' | 'fail' | 'drop') {
  const res = await fetch(`${receiver}/_receiver/mode?path=${encodeURIComponent(path)}&mode=${mode}`, {
    method: 'PUT',
  });
  expect(res.status).toBe(204);
}

async function waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function eventsOf(tenantId: string): Promise<EventJson[]> {
  const res = await api<EventPage>('GET', `/v1/events?tenant=${tenantId}&limit=200`);
  expect(res.status).toBe(200);
  return res.body.data.reverse();
}

function delivered(list: Delivery[]) {
  return list.filter((d) => d.outcome === 'ok');
}

describe('lifecycle hooks', () => {
  test('each event type arrives once, in order, signed with the instance secret', async () => {
    const instance = await hookedInstance();
    const created = await newTenant({ instance: instance.name, settings: { plan: 'pro' } });
    const { tenant } = created;

    // Installed from the tenant's own host.
    const install = await exports.default.fetch(
      new Request(`http://${tenant.slug}.${instance.name}.localhost/_gateway/install`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          install_token: created.install_token,
          email: 'owner@example.com',
          password: 'correct horse battery staple',
        }),
      }),
    );
    expect(install.status).toBe(201);
    await install.arrayBuffer();
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { name: 'Renamed' } })).status).toBe(200);
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { status: 'suspended' } })).status).toBe(
      200,
    );
    expect((await api('DELETE', `/v1/tenants/${tenant.id}`)).status).toBe(204);

    const types = [
      'tenant.created',
      'tenant.installed',
      'tenant.updated',
      'tenant.suspended',
      'tenant.deleted',
    ];
    await waitFor(
      'five hooks',
      () => received(instance.path),
      (list) => list.length >= types.length,
    );
    // Nothing arrives twice, even given time to.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const list = await received(instance.path);
    expect(list.map((d) => d.headers['x-gateway-event-type'])).toEqual(types);

    const statuses = ['pending', 'active', 'active', 'suspended', 'suspended'];
    for (const [i, hook] of list.entries()) {
      const body = JSON.parse(hook.body);
      expect(hook.headers['content-type']).toBe('application/json');
      expect(hook.headers['x-gateway-event-id']).toBe(body.id);
      expect(body.type).toBe(types[i]);
      expect(body.id).toMatch(/^evt_/);
      expect(Date.parse(body.created_at)).not.toBeNaN();
      expect(body.tenant).toEqual({
        id: tenant.id,
        slug: tenant.slug,
        name: i < 2 ? tenant.name : 'Renamed',
        schema_name: `t_${tenant.slug}`,
        status: statuses[i],
        settings: { plan: 'pro' },
      });
      const timestamp = Number(hook.headers['x-gateway-timestamp']);
      expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
      const parts = {
        timestamp,
        method: 'POST',
        host: '127.0.0.1',
        pathAndQuery: instance.path,
        tenantId: tenant.id,
        keyId: null,
      };
      expect(await verifySignature(instance.secret, parts, hook.headers['x-gateway-signature'])).toBe(true);
      // The signature covers the tenant and the path: a hook replayed for another of either fails.
      expect(
        await verifySignature(
          instance.secret,
          { ...parts, tenantId: 'ten_other' },
          hook.headers['x-gateway-signature'],
        ),
      ).toBe(false);
      expect(
        await verifySignature(
          instance.secret,
          { ...parts, pathAndQuery: '/x' },
          hook.headers['x-gateway-signature'],
        ),
      ).toBe(false);
    }

    const listed = await eventsOf(tenant.id);
    expect(listed.map((e) => [e.type, e.status, e.attempts, e.last_error, e.next_attempt_at])).toEqual(
      types.map((type) => [type, 'delivered', 1, null, null]),
    );
    expect(listed.map((e) => e.id)).toEqual(list.map((d) => d.headers['x-gateway-event-id']));
    for (const e of listed)
      expect(Date.parse(e.delivered_at ?? '')).toBeGreaterThanOrEqual(Date.parse(e.created_at));
  });

  test('a receiver that fails or is down is retried with backoff, and events arrive in order once it is back', async () => {
    const instance = await hookedInstance();
    await setMode(instance.path, 'fail');
    const { tenant } = await newTenant({ instance: instance.name });

    // First answer 500, then drop the connection: both are retried. The later change comes once the receiver
    // is down, so the kick its commit gives cannot bring a second attempt while it still answers 500.
    await waitFor(
      'a first failed attempt',
      () => received(instance.path),
      (list) => list.length >= 1,
    );
    await setMode(instance.path, 'drop');
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { settings: { step: 2 } } })).status).toBe(
      200,
    );
    const failing = await waitFor(
      'an attempt that found the receiver down',
      () => eventsOf(tenant.id),
      (list) => list[0]?.attempts >= 2,
    );
    expect(failing[0]).toMatchObject({ type: 'tenant.created', status: 'pending' });
    expect(failing[0].last_error).not.toBe('HTTP 500');
    expect(failing[0].last_error).toBeTruthy();
    expect(Date.parse(failing[0].next_attempt_at ?? '')).toBeGreaterThan(now() - 1000);
    // The later event waits for the earlier one: never attempted while tenant.created is undelivered.
    expect(failing[1]).toMatchObject({ type: 'tenant.updated', status: 'pending', attempts: 0 });

    const tries = await received(instance.path);
    expect(tries.slice(0, 2).map((d) => d.outcome)).toEqual(['fail', 'drop']);
    expect(tries.every((d) => d.headers['x-gateway-event-type'] === 'tenant.created')).toBe(true);
    // Backoff: the second attempt came the first retry's wait (1 s, scaled in tests) after the first.
    expect(tries[1].at - tries[0].at).toBeGreaterThanOrEqual(gatewayWait('hookFirstRetry') * 0.9);

    await setMode(instance.path, 'ok');
    const list = await waitFor(
      'both events delivered',
      () => received(instance.path),
      (l) => delivered(l).length >= 2,
    );
    expect(delivered(list).map((d) => d.headers['x-gateway-event-type'])).toEqual([
      'tenant.created',
      'tenant.updated',
    ]);
    // At least once, in order: every attempt of tenant.updated came after tenant.created got through.
    const firstOk = list.findIndex((d) => d.outcome === 'ok');
    expect(list.slice(0, firstOk).every((d) => d.headers['x-gateway-event-type'] === 'tenant.created')).toBe(
      true,
    );

    const after = await waitFor(
      'the outbox to show both delivered',
      () => eventsOf(tenant.id),
      (l) => l.every((e) => e.status === 'delivered'),
    );
    expect(after[0].attempts).toBeGreaterThanOrEqual(3);
    expect(after[0].last_error).toBeNull();
    expect(after[1].attempts).toBe(1);
  });

  test('a change that rolls back writes no event and sends no hook', async () => {
    const instance = await hookedInstance();
    const { tenant } = await newTenant({ instance: instance.name });
    // The same slug again: 409, and its transaction (event included) rolls back.
    const again = await api('POST', '/v1/tenants', { body: { name: tenant.slug, instance: instance.name } });
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('slug_conflict');
    // A domain another tenant holds: the update rolls back too.
    const other = await newTenant({ instance: instance.name, domains: [`${unique('d')}.example.com`] });
    const clash = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      body: { name: 'Never', domains: other.tenant.domains },
    });
    expect(clash.status).toBe(409);

    await waitFor(
      'two creation hooks',
      () => received(instance.path),
      (list) => list.length >= 2,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const hooks = (await received(instance.path)).map((d) => JSON.parse(d.body) as EventJson['payload']);
    expect(hooks.map((h) => [h.type, h.tenant.id])).toEqual([
      ['tenant.created', tenant.id],
      ['tenant.created', other.tenant.id],
    ]);
    const rows = await withDb((db) =>
      db
        .select({ type: events.type })
        .from(events)
        .where(sql`${events.payload}->'tenant'->>'slug' = ${tenant.slug}`),
    );
    expect(rows).toEqual([{ type: 'tenant.created' }]);
  });

  test('events of an instance without hooks_url are marked delivered without an attempt', async () => {
    const { tenant } = await newTenant({ instance: await newInstance() });
    const listed = await waitFor(
      'the event to be settled',
      () => eventsOf(tenant.id),
      (l) => l.length === 1 && l[0].status !== 'pending',
    );
    expect(listed[0]).toMatchObject({
      type: 'tenant.created',
      status: 'delivered',
      attempts: 0,
      last_error: null,
    });
  });

  test('an event whose 24 h are up fails with its last error, and the next one goes', async () => {
    const instance = await hookedInstance();
    await setMode(instance.path, 'fail');
    const { tenant } = await newTenant({ instance: instance.name });
    await waitFor(
      'a failed attempt',
      () => eventsOf(tenant.id),
      (l) => l[0]?.attempts >= 1,
    );
    // As if it was made a day ago: the next failure is its last.
    await withDb((db) =>
      db
        .update(events)
        .set({ createdAt: sql`now() - interval '24 hours'`, nextAttemptAt: sql`now()` })
        .where(and(eq(events.tenantId, tenant.id), eq(events.type, 'tenant.created'))),
    );
    // Its next attempt (still a 500) is its last; the change below queues an event behind it.
    expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { name: 'Later' } })).status).toBe(200);
    const failed = await waitFor(
      'the old event to fail',
      () => eventsOf(tenant.id),
      (l) => l[0]?.status === 'failed',
    );
    expect(failed[0]).toMatchObject({ type: 'tenant.created', status: 'failed', last_error: 'HTTP 500' });
    expect(failed[0].next_attempt_at).toBeNull();
    await setMode(instance.path, 'ok');
    const done = await waitFor(
      'the next event',
      () => eventsOf(tenant.id),
      (l) => l[1]?.status === 'delivered',
    );
    expect(done[1].type).toBe('tenant.updated');

    const failedOnly = await api<EventPage>('GET', `/v1/events?tenant=${tenant.slug}&status=failed`);
    expect(failedOnly.body.data.map((e) => e.id)).toEqual([failed[0].id]);
  });
});

describe('GET /v1/events', () => {
  test('pages newest first and filters by status', async () => {
    const { tenant } = await newTenant({ instance: await newInstance() });
    for (const name of ['Second', 'Third']) {
      expect((await api('PATCH', `/v1/tenants/${tenant.id}`, { body: { name } })).status).toBe(200);
    }
    const first = await api<EventPage>('GET', `/v1/events?tenant=${tenant.slug}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.data.map((e) => [e.type, e.payload.tenant.name])).toEqual([
      ['tenant.updated', 'Third'],
      ['tenant.updated', 'Second'],
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await api<EventPage>(
      'GET',
      `/v1/events?tenant=${tenant.id}&limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.data.map((e) => e.type)).toEqual(['tenant.created']);
    expect(second.body.next_cursor).toBeNull();

    // No hooks_url: all three settle as delivered, so none is left pending.
    await waitFor(
      'the events to settle',
      () => eventsOf(tenant.id),
      (l) => l.every((e) => e.status === 'delivered'),
    );
    const pending = await api<EventPage>('GET', `/v1/events?tenant=${tenant.id}&status=pending`);
    expect(pending.body.data).toEqual([]);
    const done = await api<EventPage>('GET', `/v1/events?tenant=${tenant.id}&status=delivered`);
    expect(done.body.data).toHaveLength(3);

    const bad = await api('GET', '/v1/events?status=lost');
    expect(bad.status).toBe(422);
    expect(errorCode(bad)).toBe('validation_failed');
    expect(errorCode(await api('GET', '/v1/events?cursor=nonsense'))).toBe('validation_failed');
  });

  test('is for operators only', async () => {
    const { tenant } = await newTenant();
    const { secret } = await newKey(tenant.id, ['tenant:admin']);
    const res = await api('GET', `/v1/events?tenant=${tenant.id}`, { key: secret });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('insufficient_scope');
    expect((await api('GET', '/v1/events', { key: null })).status).toBe(401);
  });
});
