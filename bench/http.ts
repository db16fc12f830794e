// Single requests from the harness (not load): node:http, because fetch may not set the Host header.
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export type Answer = { status: number; body: string; at: number; headers: http.IncomingHttpHeaders };

export function request(
  url: string,
  opts: {
    host: string;
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    fresh?: boolean;
  },
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/bench',
        headers: { ...opts.headers, host: opts.host },
        // A burst of requests arriving at once needs a connection each.
        agent: opts.fresh ? false : agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, at: performance.now(), headers: res.headers }),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function closeConnections() {
  agent.destroy();
}
