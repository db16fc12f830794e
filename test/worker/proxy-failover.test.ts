// Failover and timeouts (DESIGN.md "Data plane"): a refused connection moves on to the next upstream of the
// instance, bodies included; none left → 502 upstream_unavailable; no answer in timeout_ms → 504.
import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import type { EchoAnswer } from '../../scripts/lib/echo-answer';
import { gatewayFetch } from './helpers';
import { chunked, randomBytes, sha256, tenantOn } from './proxy-helpers';

type ErrorBody = { error: { code: string; request_id: string } };

const refused = () => env.TEST_REFUSED_UPSTREAM_URL;
const upstreamA = () => env.TEST_UPSTREAM_URL;
const upstreamB = () => env.TEST_UPSTREAM_URL_B;

describe('failover', () => {
  test('a refused connection moves on to the next upstream', async () => {
    const t = await tenantOn([refused(), upstreamB()]);
    const res = await gatewayFetch(`http://${t.slug}.localhost/f`, { headers: t.auth });
    expect(res.status).toBe(200);
    expect(((await res.json()) as EchoAnswer).upstream).toBe('b');
  });

  test('a POST fails over with its body intact and its Content-Length kept', async () => {
    const t = await tenantOn([refused(), refused(), upstreamA()]);
    const body = JSON.stringify({ hello: 'world', n: 42 });
    const res = await gatewayFetch(`http://${t.slug}.localhost/f`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.upstream).toBe('a');
    expect(echo.headers['content-length']).toBe(String(body.length));
    expect(echo.body_sha256).toBe(await sha256(new Uint8Array(new TextEncoder().encode(body))));
  });

  test('a streamed upload fails over: what the refused attempt read is replayed, the rest streamed', async () => {
    const t = await tenantOn([refused(), upstreamA()]);
    const body = randomBytes(512 * 1024);
    const res = await gatewayFetch(`http://${t.slug}.localhost/f`, {
      method: 'POST',
      headers: t.auth,
      body: chunked(body, 8 * 1024),
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoAnswer;
    expect(echo.body_bytes).toBe(body.length);
    expect(echo.body_sha256).toBe(await sha256(body));
  });

  test('with several upstreams and the first one up, a 1 MB body goes through whole', async () => {
    const t = await tenantOn([upstreamA(), upstreamB()]);
    const body = randomBytes(1024 * 1024);
    const res = await gatewayFetch(`http://${t.slug}.localhost/reflect`, {
      method: 'POST',
      headers: t.auth,
      body,
    });
    expect(res.headers.get('x-upstream')).toBe('a');
    const back = new Uint8Array(await res.arrayBuffer());
    expect(await sha256(back)).toBe(await sha256(body));
  });

  test('a connection dropped without an answer moves on too, the body replayed when it was short', async () => {
    const t = await tenantOn([upstreamA(), upstreamB()]);
    const get = await gatewayFetch(`http://${t.slug}.localhost/drop/a`, { headers: t.auth });
    expect(((await get.json()) as EchoAnswer).upstream).toBe('b');
    // The contract fails over for any method; a short body is still held and is sent again whole.
    const body = randomBytes(10 * 1024);
    const post = await gatewayFetch(`http://${t.slug}.localhost/drop/a`, {
      method: 'POST',
      headers: t.auth,
      body,
    });
    const echo = (await post.json()) as EchoAnswer;
    expect(echo.upstream).toBe('b');
    expect(echo.body_sha256).toBe(await sha256(body));
  });

  test('a body read further than can be replayed is not sent again: 502', async () => {
    // Upstream a reads 256 KiB, more than the replay window, then drops the connection.
    const t = await tenantOn([upstreamA(), upstreamB()]);
    const res = await gatewayFetch(`http://${t.slug}.localhost/drop/a`, {
      method: 'POST',
      headers: t.auth,
      body: randomBytes(1024 * 1024),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).error.code).toBe('upstream_unavailable');
  });

  test('an upstream that answers with an error is not failed over', async () => {
    const t = await tenantOn([upstreamA(), upstreamB()]);
    const res = await gatewayFetch(`http://${t.slug}.localhost/status/503`, { headers: t.auth });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-upstream')).toBe('a');
    await res.body?.cancel();
  });

  test('no upstream reachable → 502 upstream_unavailable, with the request id', async () => {
    for (const upstreams of [[refused()], [refused(), refused()]]) {
      const t = await tenantOn(upstreams);
      const res = await gatewayFetch(`http://${t.slug}.localhost/f`, {
        method: 'POST',
        headers: { ...t.auth, 'x-request-id': 'down-1' },
        body: 'payload',
      });
      expect(res.status).toBe(502);
      expect(res.headers.get('x-request-id')).toBe('down-1');
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toMatchObject({ code: 'upstream_unavailable', request_id: 'down-1' });
      expect(JSON.stringify(body)).not.toContain('127.0.0.1');
    }
  });
});

describe('timeouts', () => {
  test('no answer within timeout_ms → 504 upstream_timeout, without trying the next upstream', async () => {
    const t = await tenantOn([upstreamA(), upstreamB()], 300);
    for (const path of ['/slow/5000', '/hang']) {
      const started = Date.now();
      const res = await gatewayFetch(`http://${t.slug}.localhost${path}`, { headers: t.auth });
      const elapsed = Date.now() - started;
      expect(res.status).toBe(504);
      expect(((await res.json()) as ErrorBody).error.code).toBe('upstream_timeout');
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
    }
  });

  test('an answer within timeout_ms is not cut, even when its body takes longer', async () => {
    const t = await tenantOn([upstreamA()], 1000);
    const fast = await gatewayFetch(`http://${t.slug}.localhost/slow/200`, { headers: t.auth });
    expect(fast.status).toBe(200);
    // 4 MB written as fast as the client reads: the headers arrive at once, the body is read after 1.2 s.
    const big = await gatewayFetch(`http://${t.slug}.localhost/bytes/4194304`, { headers: t.auth });
    expect(big.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await big.arrayBuffer()).byteLength).toBe(4194304);
    await fast.body?.cancel();
  });
});
