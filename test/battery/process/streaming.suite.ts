// Battery, forwarding (DESIGN.md "Data plane": bodies stream both ways, never buffered whole; WebSocket
// upgrades pass through), against the gateway in a real workerd process whose memory we can read.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { type BatteryTenant, closeConnections, createTenant, gatewayRequest, workerdRss } from './control';

// One suite of the project's one file (./process.test.ts): its hooks run around its own tests only.
describe('streaming', () => {
  const MB = 1024 * 1024;
  const TRANSFER_BYTES = 100 * MB;
  // Buffering either body whole would grow workerd by ≥ 100 MB; streaming needs a few chunks in flight.
  const MAX_RSS_GROWTH = 40 * MB;
  const CHUNK = 256 * 1024;

  let tenant: BatteryTenant;

  beforeAll(async () => {
    tenant = await createTenant();
    // Warm: the snapshot, the lease and the code paths are in memory before the baseline is read.
    for (const path of ['/warm', '/bytes/1048576']) {
      const res = await gatewayRequest({ host: tenant.host, path, headers: auth() });
      expect(res.status).toBe(200);
    }
  });

  afterAll(() => closeConnections());

  const auth = () => ({ authorization: `Bearer ${tenant.key}` });

  /** workerd's resident memory now, read synchronously so it can be taken between two chunks. */
  function rssNow(): number {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(
      readFileSync(`/proc/${inject('workerdPid')}/status`, 'utf8'),
    )?.[1];
    return Number(kb) * 1024;
  }

  // Sampled from inside the transfer loops, every 8 MB moved: however fast the transfer, the readings are
  // taken while the bodies are in flight, not before or after.
  const SAMPLE_EVERY = 8 * MB;
  const samples: number[] = [];

  /** A fresh connection to the gateway: this transfer does not share a socket with anything else. */
  function open(method: string, path: string, headers: Record<string, string | number>) {
    const target = new URL(inject('gatewayUrl'));
    return http.request({
      host: target.hostname,
      port: target.port,
      method,
      path,
      headers: { ...headers, ...auth(), host: tenant.host },
      agent: false,
    });
  }

  /** Deterministic, non-repeating-per-chunk content, so a dropped or duplicated chunk changes the hash. */
  function chunkAt(index: number): Buffer {
    const buf = Buffer.alloc(CHUNK, index % 251);
    buf.writeUInt32BE(index, 0);
    return buf;
  }

  /** Writes `total` bytes honouring backpressure (never more than one chunk held here); their SHA-256. */
  async function upload(req: http.ClientRequest, total: number): Promise<string> {
    const hash = createHash('sha256');
    for (let i = 0, sent = 0; sent < total; i++) {
      const chunk = chunkAt(i).subarray(0, Math.min(CHUNK, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      if (sent % SAMPLE_EVERY === 0) samples.push(rssNow());
      if (!req.write(chunk)) await new Promise((done) => req.once('drain', done));
    }
    req.end();
    return hash.digest('hex');
  }

  function response(req: http.ClientRequest): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
  }

  async function readJson(res: http.IncomingMessage): Promise<Record<string, unknown>> {
    let text = '';
    for await (const chunk of res) text += chunk;
    return JSON.parse(text);
  }

  /** `promise`, or a failure naming `what` after 5 s: a stuck socket fails the test instead of hanging it. */
  function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`no ${what} within ${ms} ms`)), ms);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }

  /** The status a refused upgrade is answered with; fails when the upgrade succeeds. */
  async function upgradeRefusal(url: string, headers: Record<string, string>): Promise<number> {
    const socket = new WebSocket(url, { headers });
    try {
      return await within(
        new Promise<number>((resolve, reject) => {
          socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          socket.once('open', () => reject(new Error('the upgrade succeeded')));
          socket.once('error', reject);
        }),
        'refused upgrade',
      );
    } finally {
      socket.terminate();
    }
  }

  /** 100 MB up (the echo hashes what it receives) and 100 MB down, one after the other. */
  async function transferBoth() {
    // Up: the echo hashes what it receives, so the whole body must arrive, in order.
    const up = open('POST', '/upload', {
      'content-type': 'application/octet-stream',
      'content-length': TRANSFER_BYTES,
    });
    const upAnswer = response(up);
    const sentHash = await upload(up, TRANSFER_BYTES);
    const upRes = await upAnswer;
    expect(upRes.statusCode).toBe(200);
    const echo = await readJson(upRes);
    expect(echo.body_bytes).toBe(TRANSFER_BYTES);
    expect(echo.body_sha256).toBe(sentHash);

    // Down: counted and checked as it arrives, never held here either.
    const down = open('GET', `/bytes/${TRANSFER_BYTES}`, {});
    down.end();
    const downRes = await response(down);
    expect(downRes.statusCode).toBe(200);
    // The echo sends 'x' (120) throughout; compared natively, so the RSS sampler keeps getting its turns.
    const expected = Buffer.alloc(4 * MB, 120);
    let received = 0;
    let mismatched = 0;
    let nextSample = SAMPLE_EVERY;
    for await (const chunk of downRes as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received >= nextSample) {
        samples.push(rssNow());
        nextSample += SAMPLE_EVERY;
      }
      if (chunk.length > expected.length || !chunk.equals(expected.subarray(0, chunk.length))) mismatched++;
    }
    expect(received).toBe(TRANSFER_BYTES);
    expect(mismatched).toBe(0);
  }

  describe('battery: forwarding', () => {
    test('29 a 100 MB upload and a 100 MB download stream through with the worker memory flat', async () => {
      const baseline = await workerdRss();
      await transferBoth();
      const peak = Math.max(...samples);
      const growth = peak - baseline;
      console.log(
        `workerd RSS: baseline ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB ` +
          `(+${(growth / MB).toFixed(1)} MB over ${samples.length} samples)`,
      );
      // 12 per direction: both bodies were watched all the way through.
      expect(samples.length).toBeGreaterThanOrEqual(24);
      expect(growth).toBeLessThan(MAX_RSS_GROWTH);
    });

    test('30 a WebSocket session passes messages both ways', async () => {
      const target = new URL(inject('gatewayUrl'));
      // The upgrade goes through the data plane's checks like any request: no key, no tunnel.
      expect(await upgradeRefusal(`ws://${target.host}/ws/chat`, { host: tenant.host })).toBe(401);
      const socket = new WebSocket(`ws://${target.host}/ws/chat`, {
        headers: { host: tenant.host, ...auth() },
      });
      const opened = new Promise((done) => socket.once('open', done));
      const received: { data: string | Buffer; binary: boolean }[] = [];
      const waiters: (() => void)[] = [];
      socket.on('message', (data: Buffer, binary: boolean) => {
        received.push({ data: binary ? data : data.toString('utf8'), binary });
        waiters.shift()?.();
      });
      const next = () =>
        new Promise<void>((done, fail) => {
          const timer = setTimeout(() => fail(new Error('no WebSocket message within 5 s')), 5_000);
          waiters.push(() => {
            clearTimeout(timer);
            done();
          });
        });
      try {
        const upgrade = await within(
          new Promise<http.IncomingMessage>((resolve, reject) => {
            socket.once('upgrade', resolve);
            socket.once('unexpected-response', (_req, res) =>
              reject(new Error(`answered ${res.statusCode}`)),
            );
            socket.once('error', reject);
          }),
          'upgrade',
        );
        await within(opened, 'open event');
        expect(upgrade.statusCode).toBe(101);
        expect(upgrade.headers['x-request-id']).toBeTruthy();

        // Several round trips in one session: each message goes up and comes back on the same connection.
        const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
        for (const [i, message] of ['hello', binary, `third ${'x'.repeat(70_000)}`].entries()) {
          const arrived = next();
          socket.send(message);
          await arrived;
          expect(received[i]).toEqual({ data: message, binary: Buffer.isBuffer(message) });
        }
        const closed = new Promise<number>((done) => socket.once('close', (code) => done(code)));
        socket.close(1000, 'done');
        expect(await within(closed, 'close handshake')).toBe(1000);
      } finally {
        socket.terminate();
      }
    });
  });
});
