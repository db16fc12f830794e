// The paced load generator of the long tail (bench/paced.ts), in its own process so it never shares an event
// loop with the harness, its bridge or the upstream. Open loop: request n of the generated sequence
// (bench/requests.ts) is due at start + n / (tenants × rate), so each tenant sends `rate` requests a second,
// tenants evenly out of phase, and request k of a tenant goes to socket (tenant + k) mod sockets, so each
// tenant's requests alternate over the isolates (`spread: 'pinned'`: socket tenant mod sockets, so each
// tenant stays on one isolate). A request due while `maxInFlight` are unanswered waits (it is
// counted late when sent more than 100 ms after its time); one still unsent when the time is up is not sent.
// `warm` mode instead sends one request per tenant to every socket, `maxInFlight` at a time, until done or
// the deadline. Either way every answer is logged (one line each: n, socket, sent and answered at in epoch
// ms, status, the rate-limit window it counted in) and a summary is printed as JSON.
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import { finished } from 'node:stream/promises';
import { type Generated, generatedRequest } from './requests';

export type PacedSpread = 'alternate' | 'pinned';

export type PacedSpec = {
  mode: 'paced' | 'warm';
  urls: string[];
  generated: Generated;
  /** Paced: requests per second per tenant. */
  ratePerTenant: number;
  /** Paced: `alternate` sends a tenant's requests to each socket in turn, `pinned` all to one. */
  spread?: PacedSpread;
  /** Paced: how long requests are sent; warm: the deadline. */
  seconds: number;
  maxInFlight: number;
  logFile: string;
};

export type PacedSummary = {
  /** Epoch ms of the first request's time and of the end of sending. */
  startedAt: number;
  endedAt: number;
  sent: number;
  /** Due but never sent (the in-flight cap held them until the time was up). */
  unsent: number;
  late: number;
  byStatus: Record<string, number>;
  /** Socket errors and timeouts (status 0). */
  failed: number;
  firstRefusal: string | null;
  p50: number;
  p90: number;
  p99: number;
};

/**
 * The window a request counted in: from the answer's `RateLimit: "minute";r=…;t=…` (seconds to its end), which
 * places it exactly even when it was admitted across a minute boundary; else the calendar minute it was sent.
 */
function windowStart(header: string | string[] | undefined, sentAt: number, doneAt: number): [number, 0 | 1] {
  const t = typeof header === 'string' ? /"minute"[^,]*?;t=(\d+)/.exec(header)?.[1] : undefined;
  if (t === undefined) return [Math.floor(sentAt / 60_000) * 60_000, 0];
  return [Math.round((doneAt + Number(t) * 1000) / 60_000) * 60_000 - 60_000, 1];
}

/** One run; state is its own, so a long-lived child runs one after another. */
async function runSpec(spec: PacedSpec): Promise<PacedSummary> {
  const agents = spec.urls.map(
    () => new http.Agent({ keepAlive: true, maxSockets: Math.ceil(spec.maxInFlight / spec.urls.length) }),
  );
  const targets = spec.urls.map((u) => new URL(u));
  const log = createWriteStream(spec.logFile);
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let failed = 0;
  let firstRefusal: string | null = null;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  function send(n: number, socket: number) {
    const r = generatedRequest(spec.generated, n);
    const target = targets[socket];
    const sentAt = Date.now();
    const started = performance.now();
    inFlight++;
    const done = (status: number, ratelimit: string | string[] | undefined, body: string) => {
      const doneAt = Date.now();
      const [window, fromHeader] = windowStart(ratelimit, sentAt, doneAt);
      latencies.push(performance.now() - started);
      if (status === 0) failed++;
      else byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (status !== 200 && status !== 429) firstRefusal ??= `${status} ${body.slice(0, 160)}`;
      log.write(`${n},${socket},${sentAt},${doneAt},${status},${window},${fromHeader}\n`);
      inFlight--;
      if (idle) {
        const wake = idle;
        idle = null;
        wake();
      }
    };
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: 'GET',
        path: r.path,
        headers: { host: r.host, authorization: r.authorization },
        agent: agents[socket],
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 400) body += chunk;
        });
        res.on('end', () => done(res.statusCode ?? 0, res.headers.ratelimit, body));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', (error) => done(0, undefined, error.message));
    req.end();
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Resolves when a request in flight is answered (or at once when none is). */
  const answered = () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (idle = r)));

  const tenants = spec.generated.tenants.length;
  const startedAt = Date.now();
  const deadline = startedAt + spec.seconds * 1000;
  let sent = 0;
  let unsent = 0;
  let late = 0;
  if (spec.mode === 'warm') {
    // Request u·T + i: tenant i with its key u on socket u.
    const total = tenants * spec.urls.length;
    for (let n = 0; n < total && Date.now() < deadline; n++) {
      while (inFlight >= spec.maxInFlight) await answered();
      send(n, Math.floor(n / tenants));
      sent++;
    }
    unsent = total - sent;
  } else {
    const interval = 1000 / (tenants * spec.ratePerTenant);
    const total = Math.floor((spec.seconds * 1000) / interval);
    let n = 0;
    while (n < total) {
      const now = Date.now();
      if (now >= deadline) break;
      const due = startedAt + n * interval;
      if (due > now) {
        await sleep(Math.min(due - now, 20));
        continue;
      }
      if (inFlight >= spec.maxInFlight) {
        await Promise.race([answered(), sleep(20)]);
        continue;
      }
      if (now - due > 100) late++;
      const tenant = n % tenants;
      const k = Math.floor(n / tenants);
      send(n, (tenant + (spec.spread === 'pinned' ? 0 : k)) % spec.urls.length);
      sent++;
      n++;
    }
    unsent = total - n;
  }
  const endedAt = Date.now();
  while (inFlight > 0) await answered();
  log.end();
  await finished(log);
  for (const agent of agents) agent.destroy();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const summary: PacedSummary = {
    startedAt,
    endedAt,
    sent,
    unsent,
    late,
    byStatus,
    failed,
    firstRefusal,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
  };
  return summary;
}

// Spawned with an IPC channel (bench/paced.ts): one run per message (several may overlap), its summary sent
// back; else one run of the spec in argv, the summary printed.
if (process.send) {
  process.on('message', ({ id, spec }: { id: number; spec: PacedSpec }) => {
    runSpec(spec).then(
      (summary) => process.send?.({ id, summary }),
      (error: Error) => process.send?.({ id, error: error.stack ?? error.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
} else {
  console.log(JSON.stringify(await runSpec(JSON.parse(process.argv[2]) as PacedSpec)));
}
