// A small HTTP backend that answers what it received: the demo upstream of `npm run dev` and the test
// upstream. Special paths exercise the gateway: /redirect, /status/{code}, /cookies, /bytes/{n}, /slow/{ms};
// a WebSocket upgrade on any path echoes messages.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';
import type { EchoAnswer } from './echo-answer';

export type EchoUpstream = { url: string; port: number; close: () => Promise<void> };

function handle(name: string, req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://upstream');
  const [, first, arg] = url.pathname.split('/');
  if (first === 'redirect') {
    res.writeHead(302, { location: '/elsewhere' }).end();
    return;
  }
  if (first === 'cookies') {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    res.end('cookies');
    return;
  }
  if (first === 'bytes') {
    let left = Number(arg) || 0;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = () => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const answer: EchoAnswer = {
      upstream: name,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body_bytes: bytes,
      body_sha256: hash.digest('hex'),
    };
    const send = () => {
      const status = first === 'status' ? Number(arg) || 200 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify(answer));
    };
    if (first === 'slow') setTimeout(send, Number(arg) || 0);
    else send();
  });
}

export function startEchoUpstream(opts: { name?: string; port?: number } = {}): Promise<EchoUpstream> {
  const name = opts.name ?? 'echo';
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => handle(name, req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
