// Lets outage tests take the database away from the worker and give it back: a TCP relay between the
// WebSocket bridge and Postgres that, when switched off, drops every open connection and refuses new
// ones, exactly what the worker sees when Postgres is stopped. Controlled over HTTP, since worker tests run
// in workerd: `POST /database/down`, `POST /database/up`; `GET /database/refused` answers how many
// connections it has refused so far (so a test can tell the worker tried). Listens on 127.0.0.1 only.
import http from 'node:http';
import net from 'node:net';

export type DatabaseSwitch = { port: number; controlUrl: string; close: () => Promise<void> };

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

export async function startDatabaseSwitch(target: { host: string; port: number }): Promise<DatabaseSwitch> {
  let up = true;
  let refused = 0;
  const open = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    if (!up) {
      refused++;
      return void client.destroy();
    }
    const server = net.connect(target.port, target.host);
    // No Nagle delay: the Postgres handshake is small messages each way, and with it every query waited
    // for a delayed ACK (a request that touched the database took 35 ms in the tests instead of 18).
    client.setNoDelay(true);
    server.setNoDelay(true);
    open.add(client).add(server);
    client.pipe(server).pipe(client);
    const end = () => {
      open.delete(client);
      open.delete(server);
      client.destroy();
      server.destroy();
    };
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  const control = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://switch');
    if (req.method === 'POST' && (url.pathname === '/database/down' || url.pathname === '/database/up')) {
      up = url.pathname === '/database/up';
      if (!up) for (const socket of open) socket.destroy();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/database/refused') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ refused }));
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listen(relay);
  const controlPort = await listen(control);
  return {
    port,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    close: async () => {
      for (const socket of open) socket.destroy();
      await Promise.all([
        new Promise((done) => relay.close(done)),
        new Promise((done) => control.close(done)),
      ]);
    },
  };
}
