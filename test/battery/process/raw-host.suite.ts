// Battery, Host headers no HTTP client library will send: written byte for byte on a socket to the gateway in
// its workerd process (DESIGN.md "Data plane": an invalid host → 400 invalid_host).
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { type BatteryTenant, closeConnections, createTenant, gatewayRequest } from './control';

// One suite of the project's one file (./process.test.ts): its hooks run around its own tests only.
describe('raw-host', () => {
  type RawAnswer = { status: number; code: string | undefined; head: string };

  /** One request written as given on a fresh connection; the status line and the error code it answered. */
  function rawRequest(headerLines: string[]): Promise<RawAnswer> {
    const target = new URL(inject('gatewayUrl'));
    const request = ['GET /x HTTP/1.1', ...headerLines, 'Connection: close', '', ''].join('\r\n');
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname, () => socket.end(request));
      const chunks: Buffer[] = [];
      socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [head, ...rest] = text.split('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        resolve({ status, code: /"code"\s*:\s*"([a-z_]+)"/.exec(rest.join('\r\n\r\n'))?.[1], head });
      });
    });
  }

  /** A syntactically valid DNS name of exactly `length` characters under `suffix` (labels of ≤ 63). */
  function hostOfLength(length: number, suffix: string): string {
    const labels: string[] = [];
    let left = length - suffix.length;
    while (left > 0) {
      const size = Math.min(63, left - 1);
      labels.push('a'.repeat(Math.max(size, 1)));
      left -= Math.max(size, 1) + 1;
    }
    const host = `${labels.join('.')}.${suffix}`;
    if (host.length !== length) throw new Error(`built ${host.length} characters, not ${length}`);
    return host;
  }

  let tenant: BatteryTenant;

  beforeAll(async () => {
    tenant = await createTenant();
  });

  afterAll(() => closeConnections());

  describe('battery: raw Host headers', () => {
    // Case 2 itself is in ../worker/host-routing.test.ts: there the two headers reach the worker, folded into one
    // value as on Cloudflare, and get 400. At workerd's own socket they never reach the worker: workerd fails to
    // build the request URL from "a, b" and answers a bare 500 itself. This pins that down: nothing routed, no
    // answer of ours, the process healthy after. workerd logs each such request as an uncaught exception; its
    // output goes to a file (./setup.ts), where this test finds the traces it provoked.
    test('two Host headers at the bare workerd socket are never routed, and the gateway stays healthy', async () => {
      const plain = await rawRequest([`Host: ${tenant.host}`, `Authorization: Bearer ${tenant.key}`]);
      expect(plain.status, plain.head).toBe(200);
      const workerdLog = inject('workerdLog');
      const logStart = (await stat(workerdLog)).size;
      const refusedByWorkerd: string[] = [];
      const pairs = [
        [tenant.host, tenant.host],
        [tenant.host, 'control.localhost'],
        ['control.localhost', tenant.host],
        [tenant.host, 'elsewhere.example.com'],
      ];
      for (const [first, second] of pairs) {
        for (const [one, two] of [
          ['Host', 'Host'],
          ['Host', 'host'],
        ]) {
          const answer = await rawRequest([
            `${one}: ${first}`,
            `${two}: ${second}`,
            `Authorization: Bearer ${tenant.key}`,
          ]);
          const label = `${one}: ${first} + ${two}: ${second}`;
          // Our own refusal carries x-request-id and the contract's code; workerd's carries neither.
          const ours = /^x-request-id:/im.test(answer.head);
          if (ours)
            expect({ status: answer.status, code: answer.code }, label).toEqual({
              status: 400,
              code: 'invalid_host',
            });
          else {
            expect(answer.status, `${label}\n${answer.head}`).toBe(500);
            refusedByWorkerd.push(`invalid hostname when stringifying URL; host = ${first}, ${second}`);
          }
        }
      }
      // workerd writes the trace as it answers; it reaches the file through vitest's main process.
      await vi.waitFor(
        async () => {
          const logged = (await readFile(workerdLog)).subarray(logStart).toString('utf8');
          for (const trace of refusedByWorkerd)
            expect(logged, `workerd's log (${workerdLog})`).toContain(trace);
        },
        { timeout: 5_000, interval: 20 },
      );
      const after = await rawRequest([`Host: ${tenant.host}`, `Authorization: Bearer ${tenant.key}`]);
      expect(after.status, after.head).toBe(200);
    });

    test('5 a 300-character host → 400 invalid_host; 253 characters is still a name', async () => {
      const deeperThanAnyTenant = (length: number) => hostOfLength(length, tenant.host);
      for (const host of [hostOfLength(300, 'localhost'), deeperThanAnyTenant(300), 'a'.repeat(300)]) {
        const raw = await rawRequest([`Host: ${host}`, `Authorization: Bearer ${tenant.key}`]);
        expect({ status: raw.status, code: raw.code }, raw.head).toEqual({
          status: 400,
          code: 'invalid_host',
        });
        // The same through an ordinary HTTP client, with a port as browsers send it.
        const viaClient = await gatewayRequest({ host: `${host}:8787`, path: '/x' });
        expect(viaClient.status).toBe(400);
        expect(JSON.parse(viaClient.body).error.code).toBe('invalid_host');
      }
      // The limit is the name's length, not its shape: the longest name DNS allows is routed (and found to
      // be nobody's), one character more is refused.
      for (const [length, expected] of [
        [253, { status: 404, code: 'unknown_host' }],
        [254, { status: 400, code: 'invalid_host' }],
      ] as const) {
        const raw = await rawRequest([`Host: ${hostOfLength(length, 'localhost')}`]);
        expect({ status: raw.status, code: raw.code }, `${length} characters`).toEqual(expected);
      }
    });
  });
});
