// A backend's hook endpoint for the lifecycle hook tests: records every POST it gets, per path, and answers
// as each path is told to: `ok` (204), `fail` (500) or `drop` (the connection is cut without an answer, as
// when the backend is down). Tests steer it over HTTP on /_receiver/*, since they run inside workerd.
import http from 'node:http';
import type net from 'node:net';

export type HookDelivery = {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  outcome: 'ok' | 'fail' | 'drop';
  at: number;
};

type Mode = HookDelivery['outcome'];

export type HookReceiver = { url: string; close: () => Promise<void> };

export function startHookReceiver(): Promise<HookReceiver> {
  const received = new Map<string, HookDelivery[]>();
  const modes = new Map<string, Mode>();
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const target = url.searchParams.get('path') ?? '';
    if (url.pathname === '/_receiver/received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received.get(target) ?? []));
      return;
    }
    if (url.pathname === '/_receiver/mode') {
      modes.set(target, (url.searchParams.get('mode') as Mode | null) ?? 'ok');
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const outcome = modes.get(url.pathname) ?? 'ok';
      const list = received.get(url.pathname) ?? [];
      list.push({
        path: url.pathname,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        outcome,
        at: Date.now(),
      });
      received.set(url.pathname, list);
      if (outcome === 'drop') req.socket.destroy();
      else res.writeHead(outcome === 'ok' ? 204 : 500).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
