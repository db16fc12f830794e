// The README's walkthrough, run as a reader runs it (issue 19): every fenced block marked `sh walkthrough`, in
// the README's order, in one bash session, against `npm run dev` on a fresh database; a `yaml file=NAME`
// block is saved as NAME first, as the README asks the reader to. Two things differ from a reader's terminal,
// both because the machine is shared: the dev server listens on a free port of 127.0.0.1 (`localhost:8787` in
// the blocks is rewritten to `127.0.0.1:` that port, since `localhost` may resolve to ::1 first, where another
// server may hold the same port; and PORT is exported, as a reader with another PORT would), and the blocks run in a
// temporary folder that links the checkout's files, so `gateway.yaml` and `exported.yaml` land there.
// `curl` fails the run on any status ≥ 400 (`--fail-with-body`): a walkthrough step that is refused fails.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createFreshDatabase, dropDatabase } from '../../scripts/lib/postgres';
import { type DevServer, hostRequest, startDevServer } from './dev-server';

const root = path.resolve(import.meta.dirname, '../..');
/** What the walkthrough's commands need of the checkout (npm scripts, tsx, .data/ with the admin key). */
const LINKED = ['package.json', 'node_modules', 'scripts', 'src', 'tsconfig.json', '.data'];

export type Block = { kind: 'sh' | 'file'; name?: string; text: string; line: number };

/** The walkthrough's blocks in order: fences opened by "```sh walkthrough" or "```yaml file=NAME". */
export function walkthroughBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S+)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, , info] = open;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end === -1) throw new Error(`README line ${i + 1}: a fence that never closes`);
    const text = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    const file = /^file=(\S+)$/.exec(info);
    if (info === 'walkthrough') blocks.push({ kind: 'sh', text, line: i + 1 });
    else if (file) blocks.push({ kind: 'file', name: file[1], text, line: i + 1 });
    i = end;
  }
  return blocks;
}

// One suite of the project's one file (./browser.test.ts): its hooks run around its own tests only.
describe('readme', () => {
  let dev: DevServer | undefined;
  let workDir: string | undefined;
  const database = `gateway_readme_${process.pid}_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    const databaseUrl = await createFreshDatabase(inject('browserDatabaseUrl'), database);
    // The base domains issue 18 asks the README to run under: a GUI and an API service beside the default.
    dev = await startDevServer({
      databaseUrl,
      savedAdminKey: true,
      env: { BASE_DOMAINS: 'app.localhost=gui,api.localhost=api,localhost' },
    });
    workDir = await mkdtemp(path.join(tmpdir(), 'gateway-readme-'));
    for (const name of LINKED) await symlink(path.join(root, name), path.join(workDir, name));
  }, 240_000);

  afterAll(async () => {
    await dev?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await dropDatabase(inject('browserDatabaseUrl'), database);
  }, 60_000);

  function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv) {
    return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, output }));
    });
  }

  test('every walkthrough block of the README runs, in order, on a fresh database', async () => {
    if (!dev || !workDir) throw new Error('setup failed');
    const blocks = walkthroughBlocks(await readFile(path.join(root, 'README.md'), 'utf8'));
    expect(blocks.filter((b) => b.kind === 'sh').length).toBeGreaterThanOrEqual(12);
    const script = ['set -eo pipefail', 'curl() { command curl --fail-with-body -sS "$@"; }'];
    for (const block of blocks) {
      if (block.kind === 'file' && block.name) {
        await writeFile(path.join(workDir, block.name), `${block.text}\n`);
        continue;
      }
      script.push(`echo "::README line ${block.line}::" >&2`);
      script.push(block.text.replaceAll('localhost:8787', `127.0.0.1:${dev.port}`));
    }
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(dev.port) };
    delete env.ADMIN_API_KEY;
    const { code, output } = await runBash(script.join('\n'), workDir, env);
    const last = [...output.matchAll(/::README line (\d+)::/g)].pop()?.[1];
    if (code !== 0)
      throw new Error(`the block at README line ${last} failed (${code}):\n${output.slice(-4000)}`);

    // What the walkthrough did is there: the tenant it installed (pruned at the end, so read from the audit
    // log, which outlives it) and what the configuration file made.
    const audit = await hostRequest(dev.port, 'control.localhost', 'GET', '/v1/audit?limit=200', {
      headers: { authorization: `Bearer ${dev.adminApiKey}` },
    });
    type Entry = { action: string; after: { admin?: { email: string }; status?: string } | null };
    const installs = (JSON.parse(audit.body).data as Entry[]).filter((e) => e.action === 'install');
    expect(installs.map((e) => [e.after?.admin?.email, e.after?.status])).toEqual([
      ['owner@initech.example', 'active'],
    ]);
    const globex = await hostRequest(dev.port, 'control.localhost', 'GET', '/v1/tenants/globex', {
      headers: { authorization: `Bearer ${dev.adminApiKey}` },
    });
    expect(globex.status).toBe(200);
    await expect(readFile(path.join(workDir, 'exported.yaml'), 'utf8')).resolves.toContain('globex');
    // The header whose value the file took from the environment is stored, and shown only as set.
    const acme = await hostRequest(dev.port, 'control.localhost', 'GET', '/v1/tenants/acme', {
      headers: { authorization: `Bearer ${dev.adminApiKey}` },
    });
    expect(JSON.parse(acme.body).tenant.inject_headers).toEqual({
      'X-Smtp-Password': { set: true, updated_at: expect.any(String) },
    });
    expect(acme.body).not.toContain('smtp-pass-from-the-environment');
  }, 300_000);

  test('config:apply with a {from_env} variable that is not set: names it, sends nothing, exits 1', async () => {
    if (!dev || !workDir) throw new Error('setup failed');
    const slug = `unsent${randomBytes(3).toString('hex')}`;
    await writeFile(
      path.join(workDir, 'unresolved.yaml'),
      `tenants:\n  - slug: ${slug}\n    name: Unsent\n    instance: instance2\n` +
        '    inject_headers:\n      X-Smtp-Password: { from_env: GATEWAY_TEST_NEVER_SET }\n',
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(dev.port) };
    delete env.GATEWAY_TEST_NEVER_SET;
    const { code, output } = await runBash(
      `npx tsx ${root}/scripts/config-apply.ts unresolved.yaml`,
      workDir,
      env,
    );
    expect(code).toBe(1);
    expect(output).toContain('tenants.0.inject_headers.X-Smtp-Password: GATEWAY_TEST_NEVER_SET');
    expect(output).not.toContain('PUT ');
    const tenant = await hostRequest(dev.port, 'control.localhost', 'GET', `/v1/tenants/${slug}`, {
      headers: { authorization: `Bearer ${dev.adminApiKey}` },
    });
    expect(tenant.status).toBe(404);
  }, 60_000);
});
