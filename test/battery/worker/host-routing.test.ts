// Battery, host and routing: how the Host the client sent decides the tenant (DESIGN.md "Host resolution").
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { api, newTenant } from '../../worker/control-client';
import { gatewayFetch, unique } from '../../worker/helpers';

type Echo = { headers: Record<string, string> };

/** An active tenant made through the API, with no key needed, so the echo shows who was routed to. */
async function openTenant(fields: Record<string, unknown> = {}) {
  const { tenant } = await newTenant(fields);
  const res = await api('PATCH', `/v1/tenants/${tenant.id}`, {
    body: { status: 'active', auth: { mode: 'none', public_paths: [] } },
  });
  if (res.status !== 200) throw new Error(`activate: ${res.status} ${JSON.stringify(res.body)}`);
  return tenant;
}

/** Status and, when forwarded, the tenant and instance the upstream was told about. */
async function routedTo(host: string) {
  const res = await gatewayFetch(`http://${host}/x`);
  if (res.status !== 200) return { status: res.status, code: await errorCodeOf(res) };
  const echo = (await res.json()) as Echo;
  return { status: 200, tenant: echo.headers['x-tenant-id'], instance: echo.headers['x-instance'] };
}

async function errorCodeOf(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

const randomCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join(''));

describe('battery: host and routing', () => {
  test('1 upper case, a port and a trailing dot resolve like the plain host', async () => {
    const tenant = await openTenant();
    const plainHosts = [`${tenant.slug}.localhost`, `${tenant.slug}.${tenant.instance}.localhost`];
    const expected = { status: 200, tenant: tenant.id, instance: tenant.instance };
    for (const host of plainHosts) expect(await routedTo(host)).toEqual(expected);

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...plainHosts).chain(randomCase),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.boolean(),
        async (name, port, trailingDot) => {
          const host = `${name}${trailingDot ? '.' : ''}${port === undefined ? '' : `:${port}`}`;
          expect(await routedTo(host), host).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  test('2 two Host headers → 400 invalid_host, whatever they name', async () => {
    const tenant = await openTenant();
    const host = `${tenant.slug}.localhost`;
    const send = (values: string[]) => {
      const headers = new Headers();
      for (const value of values) headers.append('host', value);
      return gatewayFetch(`http://${host}/x`, { headers });
    };
    // One Host header is routed: the refusal below is about there being two, not about sending one.
    expect((await send([host])).status).toBe(200);
    for (const pair of [
      [host, host],
      [host, 'control.localhost'],
      ['control.localhost', host],
      [host, 'elsewhere.example.com'],
      [host, ''],
    ]) {
      const res = await send(pair);
      expect({ status: res.status, code: await errorCodeOf(res) }, pair.join(' + ')).toEqual({
        status: 400,
        code: 'invalid_host',
      });
    }
  });

  test('3 an IDN host never gets a 5xx, and an IDN custom domain routes by its punycode', async () => {
    const tenant = await openTenant();
    const unicodeDomain = `bücher-${unique('x')}.example`;
    const added = await api<{ domain: { hostname: string } }>('POST', `/v1/tenants/${tenant.id}/domains`, {
      body: { hostname: unicodeDomain },
    });
    expect(added.status).toBe(201);
    const punycode = new URL(`http://${unicodeDomain}`).hostname;
    expect(punycode).toMatch(/^xn--/);
    expect(added.body.domain.hostname).toBe(punycode);
    expect(await routedTo(unicodeDomain)).toMatchObject({ status: 200, tenant: tenant.id });
    expect(await routedTo(unicodeDomain.toUpperCase())).toMatchObject({ status: 200, tenant: tenant.id });

    const fixed = ['☃.localhost', 'ü.localhost', `ü.${tenant.instance}.localhost`, 'xn--zz.localhost'];
    // Letters of many scripts, symbols and emoji, mixed with what ASCII a label may hold.
    const idnChar = fc.oneof(
      fc.constantFrom(...'az09-'),
      fc.integer({ min: 0xa1, max: 0x2fff }).map((c) => String.fromCodePoint(c)),
      fc.integer({ min: 0x1f300, max: 0x1faff }).map((c) => String.fromCodePoint(c)),
    );
    const unicodeLabel = fc.string({ unit: idnChar, minLength: 1, maxLength: 20 });
    const hosts = fc
      .tuple(unicodeLabel, fc.constantFrom('.localhost', `.${tenant.instance}.localhost`, '.example', ''))
      .map(([label, suffix]) => `${label}${suffix}`);
    const samples = [...fixed, ...fc.sample(hosts, 40)];
    let sent = 0;
    for (const host of samples) {
      let url: string;
      try {
        url = new URL(`http://${host}/x`).href;
      } catch {
        continue;
      }
      // Only what fetch would send reaches the worker this way (NFKC may turn `⑽` into `(10)`).
      if (!/^[a-z0-9.-]+$/.test(new URL(url).hostname)) continue;
      const res = await gatewayFetch(url);
      await res.body?.cancel();
      sent += 1;
      expect(res.status, host).toBeLessThan(500);
      expect([200, 400, 404], host).toContain(res.status);
    }
    expect(sent).toBeGreaterThanOrEqual(fixed.length);
  }, 60_000);

  test('4 names deeper than {tenant}.{instance}.{base} match nothing (404 unknown_host)', async () => {
    const tenant = await openTenant();
    const exact = `${tenant.slug}.${tenant.instance}.localhost`;
    expect(await routedTo(exact)).toMatchObject({ status: 200, tenant: tenant.id });
    const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(label, { minLength: 1, maxLength: 3 }), async (prefix) => {
        const host = `${prefix.join('.')}.${exact}`;
        expect(await routedTo(host), host).toEqual({ status: 404, code: 'unknown_host' });
      }),
      { numRuns: 25 },
    );
    // The tenant's slug in the instance position, or with a label between it and the base.
    expect(await routedTo(`a.b.${exact}`)).toEqual({ status: 404, code: 'unknown_host' });
    expect(await routedTo(`${tenant.slug}.x.${tenant.instance}.localhost`)).toEqual({
      status: 404,
      code: 'unknown_host',
    });
  }, 60_000);

  test('6 a moved custom domain never routes to another tenant; the old tenant loses it within 1 s', async () => {
    const a = await openTenant();
    const b = await openTenant();
    const hostname = `${unique('moved')}.example.com`;
    expect((await api('POST', `/v1/tenants/${a.id}/domains`, { body: { hostname } })).status).toBe(201);
    expect(await routedTo(hostname)).toMatchObject({ status: 200, tenant: a.id });

    type Sample = { sentAt: number; answeredAt: number; status: number; tenant?: string; code?: string };
    const samples: Sample[] = [];
    let streaming = true;
    const stream = async () => {
      while (streaming) {
        const sentAt = performance.now();
        const answer = await routedTo(hostname);
        samples.push({ sentAt, answeredAt: performance.now(), ...answer });
      }
    };
    const streams = Array.from({ length: 4 }, stream);
    await new Promise((done) => setTimeout(done, 200));
    const deleteStarted = performance.now();
    expect((await api('DELETE', `/v1/tenants/${a.id}/domains/${hostname}`)).status).toBe(204);
    const deleted = performance.now();
    await new Promise((done) => setTimeout(done, 300));
    const addStarted = performance.now();
    expect((await api('POST', `/v1/tenants/${b.id}/domains`, { body: { hostname } })).status).toBe(201);
    const added = performance.now();
    await new Promise((done) => setTimeout(done, 1_500));
    streaming = false;
    await Promise.all(streams);

    for (const s of samples) {
      const at = `${Math.round(s.sentAt - deleted)} ms after the delete`;
      // Only ever the owner of the moment, or nobody (404) while it has none.
      expect([a.id, b.id, undefined], at).toContain(s.tenant);
      if (s.status !== 200)
        expect({ status: s.status, code: s.code }, at).toEqual({ status: 404, code: 'unknown_host' });
      if (s.sentAt > deleted + 1_000) expect(s.tenant, at).not.toBe(a.id);
      if (s.sentAt > added + 1_000) expect(s.tenant, at).toBe(b.id);
      // B cannot have been routed to before it was given the domain.
      if (s.tenant === b.id) expect(s.answeredAt, at).toBeGreaterThan(addStarted);
    }
    expect(samples.filter((s) => s.sentAt < deleteStarted && s.tenant === a.id).length).toBeGreaterThan(0);
    expect(samples.filter((s) => s.sentAt > added + 1_000).length).toBeGreaterThan(0);
    expect(addStarted).toBeGreaterThan(deleted);
  }, 60_000);
});
