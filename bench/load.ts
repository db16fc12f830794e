// One load generator for every scenario: wrk when installed (C, cheap on a 2-core machine), else autocannon
// from npm, run in a child process so it never shares an event loop with the harness or the upstream.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Generated, generatedLua } from './requests';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

/** One kind of request the generator sends; several are sent in turn, one after another per connection. */
export type Target = { host: string; headers: Record<string, string> };
export type LoadResult = {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  /** Answers that were not 2xx/3xx, and socket errors and timeouts. */
  bad: number;
  /** User + system CPU time of the worker's workerd process per request answered (bench/measure). */
  cpuMicrosPerRequest?: number;
};
export type LoadSpec = {
  url: string;
  /**
   * Several sockets of one deployment (its isolates): the connections are split evenly over them, each held
   * to one (wrk: one thread per socket, `setup()` pinning its address), as a connection-level load balancer
   * spreads clients. Absent: all to `url`.
   */
  urls?: string[];
  targets: Target[];
  /** Instead of `targets`: generated tenants, keys, paths and query strings (bench/requests.ts). */
  generated?: Generated;
  connections: number;
  seconds: number;
  tmpDir: string;
};

export const generator: 'wrk' | 'autocannon' = spawnSync('wrk', ['-v']).error ? 'autocannon' : 'wrk';

export function generatorVersion(): string {
  if (generator === 'autocannon') {
    const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules/autocannon/package.json'), 'utf8'));
    return `autocannon ${pkg.version}`;
  }
  const out = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return /wrk \S+/.exec(`${out.stdout}${out.stderr}`)?.[0] ?? 'wrk';
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return generator === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

const lua = (text: string) => JSON.stringify(text);

function wrkScript(spec: LoadSpec): string {
  const urls = spec.urls ?? [];
  const addrs = urls.map((u) => {
    const url = new URL(u);
    return `{ ${lua(url.hostname)}, ${lua(url.port)} }`;
  });
  // Thread i connects to socket i (mod the sockets), so all its connections go there; `id` numbers it.
  const pin = `
local addrs = { ${addrs.join(', ')} }
local threads = 0
setup = function(thread)
  if #addrs > 0 then
    local a = addrs[threads % #addrs + 1]
    thread.addr = wrk.lookup(a[1], a[2])[1]
  end
  thread:set("id", threads)
  threads = threads + 1
end
`;
  const done = `
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"us":%d,"bad":%d,"p50":%d,"p90":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`;
  if (spec.generated)
    return `${pin}${generatedLua(spec.generated)}
local n = 0
init = function(_)
  -- Threads start far apart in the sequence, so they do not send the same requests at the same time.
  n = (id or 0) * 100003
end
request = function()
  n = n + 1
  return generated(n)
end
${done}`;
  const requests = spec.targets.map((t) => {
    const headers = Object.entries({ Host: t.host, ...t.headers })
      .map(([name, value]) => `[${lua(name)}] = ${lua(value)}`)
      .join(', ');
    return `  wrk.format("GET", "/bench", { ${headers} }),`;
  });
  return `${pin}
local requests = {
${requests.join('\n')}
}
local n = 0
-- One target: wrk reuses the same request bytes; several: each connection takes them in turn.
if #requests == 1 then
  request = function() return requests[1] end
else
  request = function()
    n = n % #requests + 1
    return requests[n]
  end
end
${done}`;
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const script = path.join(spec.tmpDir, `wrk-${process.pid}-${Date.now()}.lua`);
  await writeFile(script, wrkScript(spec));
  const threads = String(Math.min(Math.max(2, spec.urls?.length ?? 0), spec.connections));
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      threads,
      '-c',
      String(spec.connections),
      '-d',
      `${spec.seconds}s`,
      '--timeout',
      '5s',
      '-s',
      script,
      `${spec.urls?.[0] ?? spec.url}/bench`,
    ],
    { maxBuffer: 4 * 1024 * 1024 },
  );
  const line = /RESULT (\{.*\})/.exec(stdout)?.[1];
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(line) as {
    requests: number;
    us: number;
    bad: number;
    p50: number;
    p90: number;
    p99: number;
  };
  return {
    requests: r.requests,
    rps: r.requests / (r.us / 1e6),
    p50: r.p50 / 1000,
    p90: r.p90 / 1000,
    p99: r.p99 / 1000,
    bad: r.bad,
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const { stdout } = await run(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(import.meta.dirname, 'autocannon-child.ts'), JSON.stringify(spec)],
    { maxBuffer: 4 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadResult;
}
