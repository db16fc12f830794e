// A small HTTP backend that answers what it received: the demo upstream of `npm run dev` and the test
// upstream. Special paths exercise the gateway: /redirect[/{code}][?to=location], /status/{code}, /cookies,
// /headers?name=value… (each query pair appended as a response header), /bytes/{n}, /slow/{ms},
// /trickle/{ms} (the headers at once, then ten body chunks spread over ms), /reflect (streams the request
// body back), /hop (hop-by-hop and multi-value response headers), /hang (never answers), /reset (half a
// body, then the connection is dropped), /drop/{name} (the upstream of that name reads up to 256 KiB of the
// body, then drops the connection without answering); a WebSocket upgrade on any path echoes.
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
    const status = Number(arg) || 302;
    res.writeHead(status, { location: url.searchParams.get('to') ?? '/elsewhere' }).end();
    return;
  }
  if (first === 'headers') {
    const fields = new Map<string, string[]>();
    for (const [name, value] of url.searchParams) fields.set(name, [...(fields.get(name) ?? []), value]);
    for (const [name, values] of fields) res.setHeader(name, values);
    res.end('headers');
    return;
  }
  if (first === 'cookies') {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    res.end('cookies');
    return;
  }
  if (first === 'reflect') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': name });
    req.pipe(res);
    return;
  }
  if (first === 'hop') {
    res.setHeader('connection', 'keep-alive, x-upstream-hop');
    res.setHeader('x-upstream-hop', 'secret');
    res.setHeader('keep-alive', 'timeout=5');
    res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
    res.setHeader('trailer', 'x-checksum');
    res.setHeader('upgrade', 'h2c');
    res.setHeader('x-multi', ['one', 'two']);
    res.setHeader('set-cookie', ['a=1; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT', 'b=2; Path=/']);
    res.end('hop');
    return;
  }
  if (first === 'hang') return;
  if (first === 'drop' && arg === name) {
    let read = 0;
    const drop = () => req.socket.destroy();
    req.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read >= 256 * 1024) drop();
    });
    req.on('end', drop);
    return;
  }
  if (first === 'trickle') {
    const chunks = 10;
    const spacing = (Number(arg) || 0) / chunks;
    res.writeHead(200, { 'content-type': 'text/plain' });
    let sent = 0;
    const next = () => {
      sent += 1;
      res.write(`chunk ${sent}\n`);
      if (sent < chunks) setTimeout(next, spacing);
      else res.end();
    };
    next();
    return;
  }
  if (first === 'reset') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('partial', () => setTimeout(() => res.socket?.destroy(), 50));
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
