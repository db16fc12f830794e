// The autocannon fallback of bench/load.ts, in its own process: runs one load, prints a LoadResult as JSON.
// Several sockets: one autocannon each, at once, with the connections split; latency percentiles are then the
// request-weighted mean of theirs (an approximation: autocannon answers no histogram to merge).
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load';
import { generatedRequest } from './requests';

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const urls = spec.urls?.length ? spec.urls : [spec.url];
const results = await Promise.all(
  urls.map((url, i) => {
    let n = i * 100_003;
    const generated = spec.generated;
    return autocannon({
      url,
      connections: Math.max(1, Math.round(spec.connections / urls.length)),
      duration: spec.seconds,
      timeout: 5,
      requests: generated
        ? [
            {
              method: 'GET',
              path: '/',
              headers: {},
              setupRequest: (req) => {
                const r = generatedRequest(generated, ++n);
                return { ...req, path: r.path, headers: { host: r.host, authorization: r.authorization } };
              },
            },
          ]
        : spec.targets.map((t) => ({
            method: 'GET',
            path: '/bench',
            headers: { host: t.host, ...t.headers },
          })),
    });
  }),
);
const total = results.reduce((sum, r) => sum + r.requests.total, 0);
const weighted = (pick: (r: (typeof results)[number]) => number) =>
  results.reduce((sum, r) => sum + pick(r) * r.requests.total, 0) / Math.max(1, total);
const answer: LoadResult = {
  requests: total,
  rps: total / Math.max(...results.map((r) => r.duration)),
  p50: weighted((r) => r.latency.p50),
  p90: weighted((r) => r.latency.p90),
  p99: weighted((r) => r.latency.p99),
  bad: results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
};
console.log(JSON.stringify(answer));
