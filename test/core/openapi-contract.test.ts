// The served OpenAPI document against DESIGN.md "OpenAPI and clients" and the findings: Redocly's
// `recommended` rules find nothing, every operation is named and secured, request schemas leave defaulted
// fields optional while answers require them, the error codes come from the one table, and the committed
// client (clients/typescript) is what the document generates.
import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  DOCUMENT_FILE,
  documentText,
  generatedTypes,
  lintDocument,
  servedDocument,
  TYPES_FILE,
} from '../../scripts/lib/openapi-document';
import { ERROR_CODES } from '../../src/core/http/error-codes';

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { $ref?: string; headers?: Json }>;
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; responses: Record<string, { headers?: Json }> };
};

let doc: Document;
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ name: `${method} ${path}`, op })),
  );

function responseOf(op: Operation, status: string) {
  const response = op.responses[status];
  if (!response?.$ref) return response;
  return doc.components.responses[response.$ref.split('/').pop() ?? ''];
}

function validatorFor(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  return ajv.compile({ $ref: `doc#/components/schemas/${name}` });
}

beforeAll(async () => {
  doc = (await servedDocument()) as unknown as Document;
});

describe('the served OpenAPI document', () => {
  test('the committed clients/typescript/openapi.json and src/schema.ts are what it generates', async () => {
    const served = await servedDocument();
    expect(await readFile(DOCUMENT_FILE, 'utf8')).toBe(documentText(served));
    expect(await readFile(TYPES_FILE, 'utf8')).toBe(await generatedTypes(served));
  });

  test("Redocly's recommended rules: 0 errors, 0 warnings", async () => {
    const { totals, problems } = await lintDocument(DOCUMENT_FILE);
    expect(problems).toEqual([]);
    expect(totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  });

  test('every operation has a unique operationId, a summary and security; health says security: []', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { name, op } of operations()) {
      expect(op.summary, name).toBeTruthy();
      expect(op.security, name).toBeDefined();
    }
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
  });

  test('every operation documents 400 and 500; those with a body 413 and 415; every answer X-Request-Id', () => {
    for (const { name, op } of operations()) {
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['400', '500']));
      if (op.requestBody)
        expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining(['413', '415']));
      for (const status of Object.keys(op.responses)) {
        expect(Object.keys(responseOf(op, status)?.headers ?? {}), `${name} ${status}`).toContain(
          'X-Request-Id',
        );
      }
    }
    const get = doc.paths['/v1/tenants/{tenant}'].get;
    expect(Object.keys(responseOf(get, '401')?.headers ?? {})).toEqual(
      expect.arrayContaining(['WWW-Authenticate', 'Cache-Control']),
    );
  });

  test('error codes are an enum of the one table, each status narrowed to its own codes', () => {
    expect(doc.components.schemas.ErrorCode.enum).toEqual(Object.keys(ERROR_CODES));
    const notFound = validatorFor('Error404');
    const answer = (code: string) => ({ error: { code, message: 'm', request_id: 'r' } });
    expect(notFound(answer('not_found'))).toBe(true);
    expect(notFound(answer('validation_failed'))).toBe(false);
    expect(notFound(answer('no_such_code'))).toBe(false);
    expect(validatorFor('Error413')(answer('payload_too_large'))).toBe(true);
    expect(validatorFor('Error500')(answer('internal_error'))).toBe(true);
  });

  test('request schemas leave defaulted fields out; the answers carry every one of them', () => {
    const create = validatorFor('TenantCreate');
    const body = {
      name: 'Acme',
      instance: 'instance1',
      rate_limit: { requests_per_minute: 10 },
      auth: { public_paths: ['/x'] },
      limits: { on_stale: 'refuse' },
      upstream: { upstreams: ['https://own.example'] },
      inject_headers: { 'X-Smtp-Password': 'pw', 'X-Kept': { set: true }, 'X-Gone': null },
    };
    expect(create(body), JSON.stringify(create.errors)).toBe(true);
    expect(create({ ...body, unknown: 1 })).toBe(false);
    // No instance: placed by capacity.
    expect(create({ name: 'Acme' })).toBe(true);
    const tenant = validatorFor('Tenant');
    const answer = {
      id: 'ten_1',
      name: 'Acme',
      slug: 'acme',
      schema_name: 't_acme',
      status: 'active',
      instance: 'instance1',
      instances: ['instance1'],
      domains: [],
      urls: [
        { service: 'default', base_domain: 'gw.example.com', url: 'https://acme.instance1.gw.example.com' },
      ],
      rate_limit: { requests_per_minute: 10, requests_per_day: null },
      auth: { mode: 'required', public_paths: [] },
      routes: [],
      limits: { on_gate_error: 'closed', on_stale: 'serve', mode: 'enforce' },
      settings: {},
      upstream: { upstreams: ['https://own.example'], timeout_ms: 30000 },
      inject_headers: { 'X-Smtp-Password': { set: true, updated_at: '2026-04-20T12:00:00.000Z' } },
      created_at: '2026-04-20T12:00:00.000Z',
      updated_at: '2026-04-20T12:00:00.000Z',
    };
    expect(tenant(answer), JSON.stringify(tenant.errors)).toBe(true);
    expect(tenant({ ...answer, upstream: { upstreams: ['https://own.example'] } })).toBe(false);
    expect(tenant({ ...answer, auth: { public_paths: [] } })).toBe(false);
    expect(tenant({ ...answer, limits: { on_gate_error: 'closed' } })).toBe(false);
  });

  test('a ConfigTenant as GET /v1/config exports it validates (no allOf of closed schemas)', () => {
    expect(doc.components.schemas.ConfigTenant.allOf).toBeUndefined();
    const config = validatorFor('Config');
    const exported = {
      instances: [
        {
          name: 'instance1',
          upstreams: ['https://a.example.com'],
          timeout_ms: 30000,
          services: { gui: { upstreams: ['https://gui.example.com'], timeout_ms: 30000 } },
          hooks_url: null,
          max_tenants: null,
          draining: false,
        },
      ],
      tenants: [
        {
          name: 'Acme',
          slug: 'acme',
          status: 'active',
          instance: 'instance1',
          instances: ['instance1'],
          domains: [],
          rate_limit: null,
          auth: { mode: 'required', public_paths: [] },
          routes: [],
          limits: { on_gate_error: 'closed', on_stale: 'serve', mode: 'enforce' },
          settings: {},
          upstream: null,
          inject_headers: { 'X-Smtp-Password': { set: true } },
          keys: [{ name: 'ci', scopes: ['proxy:read'], expires_at: null, rate_limit: null }],
        },
      ],
    };
    expect(config(exported), JSON.stringify(config.errors)).toBe(true);
  });
});
