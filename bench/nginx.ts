// nginx as a reverse proxy to the same upstream: a context row, measured only when nginx is installed.
// One worker process, like the one workerd thread that serves the worker, with upstream keep-alive.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/lib/ports';
import { spawnOwned } from './cleanup';

export function nginxVersion(): string | null {
  const out = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (out.error) return null;
  return /nginx\/\S+/.exec(`${out.stdout}${out.stderr}`)?.[0] ?? 'nginx';
}

export async function startNginx(tmpDir: string, upstreamPort: number): Promise<string> {
  const prefix = path.join(tmpDir, 'nginx');
  await mkdir(path.join(prefix, 'logs'), { recursive: true });
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    `${userInfo().uid === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream bench { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawnOwned('nginx', 'nginx', ['-p', prefix, '-c', conf]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nginx did not answer within 10 s');
}
