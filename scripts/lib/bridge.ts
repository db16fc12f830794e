// WebSocket → TCP bridge: lets @neondatabase/serverless (which speaks Postgres over a WebSocket) reach an
// ordinary Postgres server, so development and tests run the production driver. It only ever connects to
// the one server it was started for, whatever address the client asks for.
import net from 'node:net';
import { type RawData, WebSocketServer } from 'ws';

export type Bridge = { port: number; close: () => Promise<void> };

function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

export function startBridge(opts: {
  target: { host: string; port: number };
  port?: number;
}): Promise<Bridge> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: opts.port ?? 0 });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (ws) => {
    const tcp = net.connect(opts.target.port, opts.target.host);
    sockets.add(tcp);
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    let connected = false;
    tcp.on('connect', () => {
      connected = true;
      for (const chunk of pending) tcp.write(chunk);
      pending.length = 0;
    });
    ws.on('message', (data) => {
      const chunk = toBuffer(data);
      if (connected) tcp.write(chunk);
      else pending.push(chunk);
    });
    tcp.on('data', (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk);
    });
    const end = () => {
      sockets.delete(tcp);
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
    };
    tcp.on('error', end);
    tcp.on('close', end);
    ws.on('close', end);
    ws.on('error', end);
  });
  return new Promise((resolve, reject) => {
    wss.on('error', reject);
    wss.on('listening', () => {
      const { port } = wss.address() as net.AddressInfo;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            for (const client of wss.clients) client.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}
