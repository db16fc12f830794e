// `npm start` (scripts/start.ts) as a user runs it: the deploy bundle in workerd on a direct socket on PORT,
// so the local gateway has production's HTTP behaviour, which `wrangler dev`'s proxy hides (issue 19): a
// header named in `Connection` is the worker's to drop, and Content-Length with Transfer-Encoding is refused.
// Its own database on the run's Postgres, so its seeded `demo` tenant meets nothing of the battery's.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createFreshDatabase, dropDatabase } from '../../../scripts/lib/postgres';
import { type DevServer, startDevServer } from '../../browser/dev-server';

// One suite of the project's one file (./process.test.ts): its hooks run around its own tests only.
describe('npm-start', () => {
  const DEMO_HOST = 'demo.instance1.localhost';
  const database = `gateway_start_${process.pid}_${randomBytes(3).toString('hex')}`;
  let server: DevServer | undefined;

  beforeAll(async () => {
    const databaseUrl = await createFreshDatabase(inject('databaseUrl'), database);
    server = await startDevServer({ script: 'start.ts', databaseUrl });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await dropDatabase(inject('databaseUrl'), database);
  }, 60_000);

  function started(): DevServer {
    if (!server) throw new Error('npm start did not start');
    return server;
  }

  /** A GET through the gateway to the demo upstream, which answers with the headers it received. */
  function echoed(
    headers: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, string> }> {
    const { port, demoKey } = started();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/hello',
          headers: { host: DEMO_HOST, authorization: `Bearer ${demoKey}`, ...headers },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: JSON.parse(body).headers }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** `raw` written on a new connection; everything read until the server closes it or 1 s passes quietly. */
  function exchange(raw: string): Promise<string> {
    const { port } = started();
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let received = '';
      let quiet: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(quiet);
        socket.destroy();
        resolve(received);
      };
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        clearTimeout(quiet);
        quiet = setTimeout(finish, 1_000);
      });
      socket.on('end', finish);
      socket.on('error', (error) => (received ? finish() : reject(error)));
      quiet = setTimeout(finish, 1_000);
      socket.write(raw);
    });
  }

  describe('npm start', () => {
    test('listens on PORT and forwards to the seeded demo tenant', async () => {
      const answer = await echoed({});
      expect(answer.status).toBe(200);
      expect(answer.headers['x-tenant-slug']).toBe('demo');
      expect(started().output.join('')).toContain(`http://localhost:${started().port}/hello`);
    });

    test('a header named in Connection does not reach the upstream; one not named does', async () => {
      const answer = await echoed({
        connection: 'keep-alive, X-Hop-Secret',
        'x-hop-secret': 'must not pass',
        'x-end-to-end': 'passes',
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['x-hop-secret']).toBeUndefined();
      expect(answer.headers['x-end-to-end']).toBe('passes');
    });

    test('Content-Length with Transfer-Encoding → 400 bad_request', async () => {
      const text = await exchange(
        `POST /hello HTTP/1.1\r\nHost: ${DEMO_HOST}\r\nAuthorization: Bearer ${started().demoKey}\r\n` +
          'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      );
      expect(text.slice(0, 12)).toBe('HTTP/1.1 400');
      expect(text).toContain('"code":"bad_request"');
    });
  });
});
