// GET /openapi.json (OpenAPI 3.1, generated from the zod schemas the routes validate with) and GET /docs
// (that document rendered as plain HTML by the worker: no scripts, styles or fonts from elsewhere).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { registerSharedComponents } from './openapi';

const INFO = {
  title: 'Tenant gateway control API',
  version: '1',
  // The gateway is not published for others to use; Redocly's recommended rules ask that this be said.
  license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
  description:
    'Tenants, instances, custom domains, API keys, usage and audit of the tenant gateway. Authenticate with ' +
    '`Authorization: Bearer <key>` or `X-API-Key: <key>`: the ADMIN_API_KEY or an operator key with `admin` or ' +
    "`*` may do everything; a tenant key with `tenant:admin` manages its own tenant's keys and domains and " +
    'reads its tenant and usage. Errors: `{"error": {"code", "message", "request_id", "details"?}}`.',
};

type Schema = {
  $ref?: string;
  type?: string | string[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  description?: string;
  default?: unknown;
  additionalProperties?: unknown;
};
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
};
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

// Inline code spans only: descriptions are short and written by us.
function prose(text: string | undefined): string {
  return escapeHtml(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(name: string): string {
  return `schema-${name.replace(/[^A-Za-z0-9_-]/g, '')}`;
}

function typeOf(schema: Schema | undefined): string {
  if (!schema) return '';
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    return `<a href="#${anchor(name)}">${escapeHtml(name)}</a>`;
  }
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeOf).join(' | ');
  if (schema.enum) return schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  return types.map((t) => (t === 'array' ? `${typeOf(schema.items)}[]` : escapeHtml(t))).join(' | ') || 'any';
}

function fieldsTable(schema: Schema): string {
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) return `<p>${typeOf(schema)}</p>`;
  const required = new Set(schema.required ?? []);
  const rows = properties
    .map(([name, field]) => {
      const notes = [prose(field.description)];
      if (field.default !== undefined)
        notes.push(`default <code>${escapeHtml(JSON.stringify(field.default))}</code>`);
      return `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? ' <b>*</b>' : ''}</td><td>${typeOf(field)}</td><td>${notes.filter(Boolean).join('; ')}</td></tr>`;
    })
    .join('');
  return `<table><tr><th>field</th><th>type</th><th>notes</th></tr>${rows}</table>`;
}

function operationHtml(method: string, path: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <b>*</b>' : ''}</td><td>${escapeHtml(p.in)}</td><td>${typeOf(p.schema)}</td><td>${prose(p.description ?? p.schema?.description)}</td></tr>`,
    )
    .join('');
  const body = op.requestBody?.content?.['application/json']?.schema;
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const schema = r.content?.['application/json']?.schema;
      return `<tr><td>${escapeHtml(status)}</td><td>${prose(r.description)}</td><td>${schema ? typeOf(schema) : ''}</td></tr>`;
    })
    .join('');
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  return `<section class="op" id="${id}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p><b>${prose(op.summary)}</b></p>${op.description ? `<p>${prose(op.description)}</p>` : ''}
${op.security?.length ? '<p class="auth">Needs an API key.</p>' : ''}
${params ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr>${params}</table>` : ''}
${body ? `<h4>Body (application/json)</h4><p>${typeOf(body)}</p>` : ''}
<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses}</table>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;margin:.3rem 0 1rem}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#fafafa}
.op{border-top:1px solid #ccc;margin-top:1.5rem}.m{font:bold 13px ui-monospace,monospace;padding:.1rem .4rem;color:#fff;background:#555}
.get{background:#2a6}.post{background:#26a}.put{background:#a62}.patch{background:#86a}.delete{background:#a33}
nav li{list-style:none}nav ul{padding-left:1rem}`;

export function renderDocs(doc: Document): string {
  const operations: { tag: string; method: string; path: string; op: Operation }[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      operations.push({ tag: op.tags?.[0] ?? 'other', method, path, op });
    }
  }
  const tags = [...new Set(operations.map((o) => o.tag))];
  const nav = tags
    .map((tag) => {
      const items = operations
        .filter((o) => o.tag === tag)
        .map((o) => {
          const id = `${o.method}-${o.path}`.replace(/[^A-Za-z0-9]+/g, '-');
          return `<li><a href="#${id}">${o.method.toUpperCase()} ${escapeHtml(o.path)}</a></li>`;
        })
        .join('');
      return `<li>${escapeHtml(tag)}<ul>${items}</ul></li>`;
    })
    .join('');
  const sections = tags
    .map(
      (tag) =>
        `<h2>${escapeHtml(tag)}</h2>${operations
          .filter((o) => o.tag === tag)
          .map((o) => operationHtml(o.method, o.path, o.op))
          .join('')}`,
    )
    .join('');
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section id="${anchor(name)}"><h3>${escapeHtml(name)}</h3>${schema.description ? `<p>${prose(schema.description)}</p>` : ''}${fieldsTable(schema)}</section>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(INFO.title)}</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(INFO.title)}</h1><p>${prose(INFO.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<nav><ul>${nav}<li><a href="#schemas">schemas</a></li></ul></nav>${sections}
<h2 id="schemas">Schemas</h2>${schemas}</body></html>`;
}

export function registerDocs(app: OpenAPIHono<AppEnv>) {
  registerSharedComponents(app.openAPIRegistry);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key as `Authorization: Bearer <key>`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'The same key in the `X-API-Key` header',
  });
  const config = { openapi: '3.1.0', info: INFO, servers: [{ url: '/' }] };
  // Routes do not change after startup, so each isolate builds the document once.
  let document: Document | undefined;
  const build = () => {
    document ??= app.getOpenAPI31Document(config) as Document;
    return document;
  };
  app.get('/openapi.json', (c) => c.json(build()));
  app.get('/docs', (c) => c.html(renderDocs(build())));
}
