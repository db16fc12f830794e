// npm run config:apply -- file.yaml [--dry-run] [--prune]
// Sends a configuration file to a running gateway (PUT /v1/config) and prints what changed as a table.
// GATEWAY_URL (default http://127.0.0.1:PORT, where PORT is the environment's, else the port the running
// `npm run dev` or `npm start` wrote to .data/listen.json, else 8787), CONTROL_HOST (sent as Host; default
// the running gateway's, control.localhost when GATEWAY_URL is local, else GATEWAY_URL's own host),
// ADMIN_API_KEY (default: the one `npm run dev` keeps in .data/secrets.json). Prints the URL it used. Exits 1
// when the gateway refuses the file, 2 on wrong usage.
// Secrets need not be written in the file: a tenant's injected header value may be `{from_env: NAME}`,
// resolved here from this process's environment (the operator's) before anything is sent; a variable that is
// not set is an error naming it and where the file uses it, and nothing is sent. Values are never printed.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findDuplicateKey } from '../src/core/http/input';
import { resolveFromEnv } from '../src/core/tenancy/config-env';

type Change = { kind: string; name: string; action: string; fields?: string[] } & Record<string, unknown>;
type Answer = {
  dry_run?: boolean;
  changes?: Change[];
  summary?: Record<string, number>;
  error?: { code: string; message: string; details?: { path: string; message: string }[] };
};

const SECRET_FIELDS = ['signing_secret', 'secret', 'install_token', 'install_url'];

function usage(message: string): never {
  console.error(`${message}\nusage: npm run config:apply -- <file.yaml|file.json> [--dry-run] [--prune]`);
  process.exit(2);
}

/** Where the local gateway of this folder listens, as `npm run dev` and `npm start` leave it in .data/. */
async function localListen(): Promise<{ port?: number; control_host?: string }> {
  try {
    const listen = JSON.parse(await readFile(path.join(process.cwd(), '.data', 'listen.json'), 'utf8'));
    // Left by a gateway that is gone (killed without its exit handler): not where to send the file.
    process.kill(listen.pid, 0);
    return listen;
  } catch {
    return {};
  }
}

async function adminKey(): Promise<string> {
  if (process.env.ADMIN_API_KEY) return process.env.ADMIN_API_KEY;
  try {
    const dev = JSON.parse(await readFile(path.join(process.cwd(), '.data', 'secrets.json'), 'utf8'));
    if (typeof dev.adminApiKey === 'string') return dev.adminApiKey;
  } catch {}
  return usage('Set ADMIN_API_KEY (or run `npm run dev` in this folder once).');
}

function put(url: URL, host: string, key: string, contentType: string, body: Buffer) {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'PUT',
        headers: {
          host,
          authorization: `Bearer ${key}`,
          'content-type': contentType,
          'content-length': body.length,
          accept: 'application/json',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The file as it is sent: as read, unless it gives values `{from_env: NAME}`; then as JSON, with each resolved
 * from the environment. A file that does not parse (or repeats a key) is sent as it is, for the gateway to say
 * where it breaks.
 */
function withSecretsFromEnv(body: Buffer, json: boolean): { contentType: string; body: Buffer } {
  const asRead = { contentType: json ? 'application/json' : 'application/yaml', body };
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = json ? JSON.parse(text) : parseYaml(text);
  } catch {
    return asRead;
  }
  // Re-serialised, a repeated key would lose the copy the gateway refuses the file for.
  if (json && findDuplicateKey(text) !== null) return asRead;
  const { file, resolved, missing } = resolveFromEnv(parsed, process.env);
  if (missing.length > 0) {
    console.error('Not sent: the file takes values from environment variables that are not set:');
    for (const m of missing) console.error(`  ${m.path}: ${m.name}`);
    process.exit(1);
  }
  if (resolved === 0) return asRead;
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(file)) };
}

async function main() {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--dry-run' && a !== '--prune');
  if (!file || unknown.length > 0)
    usage(unknown.length > 0 ? `unknown option ${unknown[0]}` : 'no file given');
  const body = await readFile(file).catch((err: NodeJS.ErrnoException) =>
    usage(`cannot read ${file}: ${err.code}`),
  );
  const json = /\.json$/i.test(file);
  const sent = withSecretsFromEnv(body, json);

  const listen = await localListen();
  const port = process.env.PORT ?? listen.port ?? 8787;
  // 127.0.0.1, where the local gateway listens: `localhost` may first resolve to ::1, where another server may be.
  const base = new URL(process.env.GATEWAY_URL ?? `http://127.0.0.1:${port}`);
  const local = base.hostname === 'localhost' || base.hostname === '127.0.0.1';
  const host = process.env.CONTROL_HOST ?? (local ? (listen.control_host ?? 'control.localhost') : base.host);
  const url = new URL('/v1/config', base);
  if (args.includes('--dry-run')) url.searchParams.set('dry_run', 'true');
  if (args.includes('--prune')) url.searchParams.set('prune', 'true');

  console.log(`PUT ${url} (Host: ${host})`);
  const res = await put(url, host, await adminKey(), sent.contentType, sent.body);
  let answer: Answer;
  try {
    answer = JSON.parse(res.text);
  } catch {
    console.error(`${res.status}: ${res.text.slice(0, 500)}`);
    process.exit(1);
  }
  if (res.status !== 200 || !answer.changes) {
    console.error(`${res.status} ${answer.error?.code ?? 'error'}: ${answer.error?.message ?? res.text}`);
    for (const d of answer.error?.details ?? []) console.error(`  ${d.path}: ${d.message}`);
    process.exit(1);
  }
  const rows = [['KIND', 'NAME', 'ACTION', 'FIELDS']];
  for (const c of answer.changes) rows.push([c.kind, c.name, c.action, (c.fields ?? []).join(', ')]);
  console.log(table(rows));
  const s = answer.summary ?? {};
  const counts = `create ${s.create}, update ${s.update}, delete ${s.delete}, unchanged ${s.unchanged}`;
  console.log(`\n${answer.dry_run ? 'Dry run, nothing written: ' : 'Applied: '}${counts}`);
  const secrets = answer.changes.flatMap((c) =>
    SECRET_FIELDS.filter((f) => typeof c[f] === 'string').map((f) => `  ${c.kind} ${c.name} ${f}: ${c[f]}`),
  );
  if (secrets.length > 0) console.log(`\nShown once, store them now:\n${secrets.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(`config:apply failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
