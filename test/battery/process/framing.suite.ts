// Battery case 25 (issue 10, DESIGN.md "Data plane"): a request framed by both Content-Length and
// Transfer-Encoding is refused before any lookup. Sent on a raw socket to the gateway in its workerd
// process, since no HTTP client library will send such a request.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { type BatteryTenant, closeConnections, createTenant } from './control';

// One suite of the project's one file (./process.test.ts): its hooks run around its own tests only.
describe('framing', () => {
  type Exchange = { text: string; closedByServer: boolean };

  /**
   * Writes `raw` on a new connection and reads until the server closes it or `quietMs` pass with nothing
   * (workerd answers on loopback in milliseconds; a second answer, to what followed a body, comes with it).
   */
  function exchange(raw: string, quietMs = 1_000): Promise<Exchange> {
    const target = new URL(inject('gatewayUrl'));
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname);
      let received = '';
      const finish = (closedByServer: boolean) => {
        socket.destroy();
        resolve({ text: received, closedByServer });
      };
      let quiet = setTimeout(() => finish(false), quietMs);
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        clearTimeout(quiet);
        quiet = setTimeout(() => finish(false), quietMs);
      });
      socket.on('end', () => finish(true));
      socket.on('error', (error) => (received ? finish(true) : reject(error)));
      socket.write(raw);
    });
  }

  type RawAnswer = { status: number; headers: string; body: string };

  /** Every HTTP/1.1 answer in `text`, in order (bodies framed by Content-Length or chunked). */
  function answersIn(text: string): RawAnswer[] {
    const answers: RawAnswer[] = [];
    let rest = text;
    while (rest.startsWith('HTTP/1.1 ')) {
      const end = rest.indexOf('\r\n\r\n');
      if (end === -1) break;
      const head = rest.slice(0, end);
      rest = rest.slice(end + 4);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
      let body = '';
      if (length !== undefined) {
        body = rest.slice(0, Number(length));
        rest = rest.slice(Number(length));
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        for (;;) {
          const lineEnd = rest.indexOf('\r\n');
          const size = Number.parseInt(rest.slice(0, lineEnd), 16);
          rest = rest.slice(lineEnd + 2);
          if (!(size > 0)) {
            rest = rest.slice(rest.indexOf('\r\n') + 2);
            break;
          }
          body += rest.slice(0, size);
          rest = rest.slice(size + 2);
        }
      }
      answers.push({ status: Number(head.slice(9, 12)), headers: head, body });
    }
    return answers;
  }

  let tenant: BatteryTenant;

  beforeAll(async () => {
    tenant = await createTenant();
  });

  afterAll(() => closeConnections());

  describe('battery: framing', () => {
    test('25 Content-Length with Transfer-Encoding → 400 bad_request; nothing reaches the upstream', async () => {
      // Hidden after the body, without a key of its own: it must never ride on the refused request's key.
      const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${tenant.host}\r\n\r\n`;
      const chunkedBody = `0\r\n\r\n${smuggled}`;
      // Both orders and spellings a front end and a back end are known to disagree on (CL.TE and TE.CL).
      const variants = [
        ['Content-Length: 6', 'Transfer-Encoding: chunked'],
        ['Transfer-Encoding: chunked', 'Content-Length: 6'],
        ['Content-Length: 6', 'Transfer-Encoding: CHUNKED'],
      ];
      for (const framing of variants) {
        const raw = [
          `POST /echo HTTP/1.1`,
          `Host: ${tenant.host}`,
          `Authorization: Bearer ${tenant.key}`,
          ...framing,
          '',
          chunkedBody,
        ].join('\r\n');
        const answers = answersIn((await exchange(raw)).text);
        const [first, ...later] = answers;
        expect(first?.status, framing.join(' + ')).toBe(400);
        expect(JSON.parse(first?.body ?? '{}').error.code).toBe('bad_request');
        // workerd keeps the connection open after the answer (the worker cannot close it), so what followed
        // the body may be read as a next request: it stands alone, without the refused request's key.
        for (const next of later) expect(JSON.parse(next.body).error.code).toBe('missing_api_key');
        expect(answers.some((a) => a.body.includes('"upstream"'))).toBe(false);
      }
      // A coding workerd does not know never reaches the worker: workerd refuses it itself, and nothing of it
      // is forwarded either.
      const unknownCoding = [
        'POST /echo HTTP/1.1',
        `Host: ${tenant.host}`,
        `Authorization: Bearer ${tenant.key}`,
        'Content-Length: 6',
        'Transfer-Encoding: gzip, chunked',
        '',
        chunkedBody,
      ].join('\r\n');
      const refused = answersIn((await exchange(unknownCoding)).text);
      expect(refused.every((a) => a.status >= 400 && !a.body.includes('"upstream"'))).toBe(true);
      // The same connection shape with one framing header is forwarded: the refusal is about the conflict.
      const plain = `POST /echo HTTP/1.1\r\nHost: ${tenant.host}\r\nAuthorization: Bearer ${tenant.key}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`;
      const [ok] = answersIn((await exchange(plain)).text);
      expect(ok?.status).toBe(200);
      expect(JSON.parse(ok?.body ?? '{}')).toMatchObject({ path: '/echo', body_bytes: 5 });
    });
  });
});
