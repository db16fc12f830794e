// The benchmark's upstream: answers every request with the same small body, as fast as Node can, so the
// figures measure what sits in front of it. Run as its own process (`tsx bench/upstream.ts PORT`) so it does
// not share an event loop with the harness.
import http from 'node:http';

const body = Buffer.from('{"ok":true}\n');
const port = Number(process.argv[2]);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
process.on('disconnect', () => process.exit(0));
