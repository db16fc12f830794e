// A bounded, seeded fuzz run over the control API from its own OpenAPI document (in the spirit of
// Schemathesis): every operation, with valid and invalid bodies, path and query values, under each kind of
// key. Never a 5xx; every status answered is documented for that operation; every 2xx and 4xx body
// validates against its documented schema (Ajv, draft 2020-12). Then the data plane's host parsing, the same
// way. Findings are collected (one per operation, status and code) so a failure lists them all.
import { env, exports } from 'cloudflare:workers';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { api } from './control-client';
import { bodyText, type Components, parameterValue, type Schema } from './fuzz-arbitraries';
import { seedTenant, unique } from './helpers';

const SEED = 17;
// The seeded sequences' lengths: every request of each is sent, so a run is the same run on any machine.
const CONTROL_REQUESTS = 3000;
const HOST_REQUESTS = 200;
// Requests in flight at once: their waits on Postgres overlap.
const PARALLEL = 8;

type Parameter = { name: string; in: string; required?: boolean; schema: Schema };
type Response = { $ref?: string; content?: Record<string, { schema?: Schema }> };
type Operation = {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: Components & { responses: Record<string, Response> };
};

type Call = { op: Operation; method: string; url: string; headers: Record<string, string>; body?: string };

let doc: Document;
let ajv: Ajv2020;
const validators = new Map<string, ValidateFunction>();
let known: Record<string, string[]>;
let keys: (string | null)[];

/** A schema of the document, compiled once; its `#/components/…` references point into the document. */
function validatorOf(schema: Schema): ValidateFunction {
  const text = JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/');
  let validate = validators.get(text);
  if (!validate) {
    validate = ajv.compile(JSON.parse(text));
    validators.set(text, validate);
  }
  return validate;
}

function responseSchema(op: Operation, status: number): { documented: boolean; schema?: Schema } {
  let response = op.responses[String(status)];
  if (!response) return { documented: false };
  if (response.$ref) response = doc.components.responses[response.$ref.split('/').pop() ?? ''];
  return { documented: true, schema: response.content?.['application/json']?.schema };
}

function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return 'x'; // a lone surrogate: no URL can carry it
  }
}

/**
 * A tenant created without an instance is placed by capacity on some instance of the shared database, which
 * the suite's other files own (a placement there would make their counts and deletes fail): a generated
 * tenant that names none is placed on the fixture instance instead. Other bodies are left as drawn.
 */
function onFixtureInstance(op: Operation, text: string): string {
  if (op.operationId !== 'createTenant' && op.operationId !== 'applyConfig') return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  let placed = false;
  const place = (tenant: unknown) => {
    if (!tenant || typeof tenant !== 'object' || Array.isArray(tenant) || 'instance' in tenant) return;
    (tenant as Record<string, unknown>).instance = known.name[0];
    placed = true;
  };
  if (op.operationId === 'createTenant') place(value);
  else if (value && typeof value === 'object' && Array.isArray((value as { tenants?: unknown }).tenants)) {
    for (const tenant of (value as { tenants: unknown[] }).tenants) place(tenant);
  }
  // Drawn text is kept as it is otherwise (a duplicate key, say, would not survive a parse).
  return placed ? JSON.stringify(value) : text;
}

function callsOf(method: string, template: string, op: Operation): fc.Arbitrary<Call> {
  const params = op.parameters ?? [];
  // Deleting the fixtures would leave the rest of the run with nothing but 404s.
  const knownFor = (name: string) => (method === 'delete' ? [] : (known[name] ?? []));
  const path = fc.record(
    Object.fromEntries(
      params
        .filter((p) => p.in === 'path')
        // An empty, `.` or `..` segment makes another path (the URL parser folds it): not this operation.
        .map((p) => [
          p.name,
          parameterValue(p.schema, doc.components, knownFor(p.name)).filter(
            (v) => !['', '.', '..'].includes(v),
          ),
        ]),
    ),
  );
  // `prune=true` with a valid file would delete every other test's instances and tenants.
  const queryParams = params.filter((p) => p.in === 'query' && p.name !== 'prune');
  const query = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, parameterValue(p.schema, doc.components, [])])),
    { requiredKeys: [] },
  );
  const schema = op.requestBody?.content['application/json']?.schema;
  const body = schema
    ? fc.record({
        text: bodyText(schema, doc.components),
        type: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain'),
      })
    : fc.constant(undefined);
  return fc.record({ path, query, body, key: fc.constantFrom(...keys) }).map((drawn) => {
    let url = template.replace(/\{(\w+)\}/g, (_, name: string) => encode(drawn.path[name] ?? ''));
    const search = Object.entries(drawn.query).map(([k, v]) => `${k}=${encode(String(v))}`);
    if (search.length > 0) url += `?${search.join('&')}`;
    const headers: Record<string, string> = {};
    if (drawn.key !== null) headers.authorization = `Bearer ${drawn.key}`;
    if (drawn.body) headers['content-type'] = drawn.body.type;
    const text = drawn.body && onFixtureInstance(op, drawn.body.text);
    return { op, method: method.toUpperCase(), url, headers, body: text };
  });
}

async function check(call: Call, findings: Set<string>) {
  const res = await exports.default.fetch(
    new Request(`http://control.localhost${call.url}`, {
      method: call.method,
      headers: call.headers,
      body: call.body,
    }),
  );
  const text = await res.text();
  const where = `${call.op.operationId} ${res.status}`;
  let body: { error?: { code?: string } } | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    findings.add(`${where}: a body that is not JSON`);
  }
  const tag = `${where} ${body?.error?.code ?? ''}`.trim();
  if (res.status >= 500) findings.add(`${tag}: a 5xx (${call.method} ${call.url.slice(0, 80)})`);
  if (res.status < 300) noteCreated(body);
  const { documented, schema } = responseSchema(call.op, res.status);
  if (!documented) findings.add(`${tag}: status not documented for the operation`);
  else if (schema && res.status < 500) {
    const validate = validatorOf(schema);
    if (!validate(ownRows(call.op, res.status, body)))
      findings.add(`${tag}: ${ajv.errorsText(validate.errors)}`);
  } else if (!schema && text) findings.add(`${tag}: a body where none is documented`);
}

type ConfigFile = { instances?: { name?: string }[]; tenants?: { slug?: string }[] };

// Instance names and tenant slugs this run made (the fixtures, and what its requests created).
const mine = new Set<string>();

type Answer = {
  instance?: { name?: string };
  tenant?: { slug?: string };
  changes?: { kind?: string; name?: string }[];
};

function noteCreated(body: unknown) {
  const answer = (body ?? {}) as Answer;
  if (answer.instance?.name) mine.add(answer.instance.name);
  if (answer.tenant?.slug) mine.add(answer.tenant.slug);
  for (const change of answer.changes ?? []) if (change.kind !== 'key' && change.name) mine.add(change.name);
}

/**
 * The export answers every row of the database, which the suite's files share, and some write rows straight
 * into it that the API would refuse (limits.test.ts stores a limit of 0): its answer is checked on the rows
 * this run made through the API and its fixtures.
 */
function ownRows(op: Operation, status: number, body: unknown): unknown {
  if (op.operationId !== 'exportConfig' || status !== 200) return body;
  const file = body as ConfigFile;
  return {
    ...file,
    instances: file.instances?.filter((i) => i.name !== undefined && mine.has(i.name)),
    tenants: file.tenants?.filter((t) => t.slug !== undefined && mine.has(t.slug)),
  };
}

/**
 * Runs `calls` in order, `PARALLEL` at a time: each lane takes the next call as soon as its last one is
 * answered, so a slow write never holds up the fast refusals beside it.
 */
async function runAll(calls: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < calls.length) await calls[next++]();
    }),
  );
}

beforeAll(async () => {
  doc = (await api<Document>('GET', '/openapi.json', { key: null })).body;
  ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  // Fixtures the generated values name: a tenant with a tenant:admin key, another key, a domain, an
  // instance, and an operator key that may only read.
  const tenant = await seedTenant({ scopes: ['tenant:admin'] });
  const other = await api<{ key: { id: string } }>('POST', `/v1/tenants/${tenant.tenantId}/keys`, {
    body: { name: 'fuzzed', scopes: ['proxy:read'] },
  });
  const hostname = `${unique('fuzz')}.fuzz.test`;
  await api('POST', `/v1/tenants/${tenant.tenantId}/domains`, { body: { hostname } });
  const reader = await api<{ secret: string }>('POST', '/v1/keys', {
    body: { name: 'fuzz reader', scopes: ['read'] },
  });
  mine.add(tenant.slug).add(tenant.instance);
  known = {
    tenant: [tenant.slug, tenant.tenantId],
    id: [other.body.key.id],
    name: [tenant.instance],
    hostname: [hostname],
  };
  keys = [
    env.ADMIN_API_KEY,
    env.ADMIN_API_KEY,
    tenant.key,
    tenant.key,
    reader.body.secret,
    null,
    'gw_notakey',
  ];
}, 60_000);

describe('fuzzing the control API from its OpenAPI document', () => {
  test(`${CONTROL_REQUESTS} requests: no 5xx, every status documented, every body valid`, async () => {
    // Each operation alike, but the export: it answers the whole database, which the suite's other files fill.
    const arbitraries = Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item).map(([method, op]) => ({
        weight: op.operationId === 'exportConfig' ? 1 : 5,
        arbitrary: callsOf(method, template, op),
      })),
    );
    const calls = fc.sample(fc.oneof(...arbitraries), { seed: SEED, numRuns: CONTROL_REQUESTS });
    const findings = new Set<string>();
    let answered = 0;
    await runAll(
      calls.map((call) => async () => {
        await check(call, findings);
        answered++;
      }),
    );
    expect([...findings].sort()).toEqual([]);
    expect(answered).toBe(CONTROL_REQUESTS);
  }, 180_000);
});

describe("fuzzing the data plane's host parsing", () => {
  test(`${HOST_REQUESTS} hosts: no 5xx, and each refusal in the error envelope`, async () => {
    const envelope = validatorOf({
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: { code: { $ref: '#/components/schemas/ErrorCode' }, message: { type: 'string' } },
          required: ['code', 'message', 'request_id'],
        },
      },
      required: ['error'],
    });
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
    const host = fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.tuple(label, fc.integer({ min: 0, max: 70000 })).map(([l, port]) => `${l}.localhost:${port}`),
      fc.tuple(label, label).map(([a, b]) => `${a}.${b}.localhost.`),
      fc.string({ maxLength: 30 }).map((s) => `${s}.localhost`),
      fc.constantFrom('[::1]', 'xn--nxasmq6b.localhost', 'UPPER.LOCALHOST', 'a..b.localhost', '-a.localhost'),
    );
    const hosts = fc.sample(host, { seed: SEED, numRuns: HOST_REQUESTS });
    const findings = new Set<string>();
    let sent = 0;
    await runAll(
      hosts.map((h) => async () => {
        sent++;
        let res: globalThis.Response;
        try {
          res = await exports.default.fetch(new Request(`http://${h}/fuzz?x=1`));
        } catch {
          return; // no URL holds this host, so no request can carry it
        }
        const text = await res.text();
        if (res.status >= 500) findings.add(`${h}: ${res.status}`);
        if (res.status >= 400 && res.headers.get('content-type')?.includes('json')) {
          if (!envelope(JSON.parse(text)))
            findings.add(`${h}: ${res.status} ${ajv.errorsText(envelope.errors)}`);
        }
      }),
    );
    expect([...findings]).toEqual([]);
    expect(sent).toBe(HOST_REQUESTS);
  }, 60_000);
});
