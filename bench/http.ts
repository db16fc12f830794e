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

/**
 * Polls every 10 ms until an answer is 401 once `armed()` (the revocation was sent), or `timeoutMs` ran out:
 * the time (performance.now()) that 401 arrived, or null.
 */
export async function firstUnauthorized(
  poll: () => Promise<Answer>,
  timeoutMs: number,
  armed: () => boolean,
): Promise<{ at: number; lastServedSentAt: number | null } | null> {
  const deadline = performance.now() + timeoutMs;
  // When the last request that was still answered with the key (not 401) was sent: under load a probe's own
  // answer can take longer than the change, so its arrival alone overstates how long the key kept working.
  let lastServedSentAt: number | null = null;
  while (performance.now() < deadline) {
    const started = performance.now();
    const answer = await poll();
    if (armed() && answer.status === 401) return { at: answer.at, lastServedSentAt };
    if (armed()) lastServedSentAt = started;
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - (performance.now() - started))));
  }
  return null;
}
