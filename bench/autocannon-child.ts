// The autocannon fallback of bench/load.ts, in its own process: runs one load, prints a LoadResult as JSON.
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load';

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  timeout: 5,
  requests: spec.targets.map((t) => ({
    method: 'GET',
    path: '/bench',
    headers: { host: t.host, ...t.headers },
  })),
});
const answer: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.total / result.duration,
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  bad: result.non2xx + result.errors + result.timeouts,
};
console.log(JSON.stringify(answer));
