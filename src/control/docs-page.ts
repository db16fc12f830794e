// GET /docs: the OpenAPI document as a reference page, rendered by the worker. Grouped by resource with a
// table of contents; each operation with its parameters, body fields, an example body and curl line, its
// answers and their error codes. `?q=` filters on the server, so the filter works without JavaScript; a
// small inline script filters as one types. Nothing is loaded from elsewhere.
import { ERROR_CODES, type ErrorCode } from '../core/http/error-codes';
import { curlLine, exampleOf, type Parameter, refName, type Schema, type Schemas } from './docs-examples';
import { controlCodesOf } from './openapi';

type Response = {
  $ref?: string;
  description?: string;
  headers?: Record<string, { $ref?: string }>;
  content?: Record<string, { schema?: Schema }>;
};
export type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, Response>;
  security?: unknown[];
};
export type Document = {
  info: { title: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Schemas; responses?: Record<string, Response> };
};

type Entry = { tag: string; method: string; path: string; op: Operation; id: string };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

// Inline code spans only: descriptions are short and written by us.
function prose(text: string | undefined): string {
  return escapeHtml(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
}

const anchor = (prefix: string, name: string) =>
  `${prefix}-${name.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-|-$/g, '')}`;

function typeOf(schema: Schema | undefined): string {
  if (!schema) return '';
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>`;
  }
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeOf).join(' | ');
  if (schema.enum) return schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  return types.map((t) => (t === 'array' ? `${typeOf(schema.items)}[]` : escapeHtml(t))).join(' | ') || 'any';
}

function fieldsTable(schema: Schema | undefined, schemas: Schemas): string {
  const resolved = schema?.$ref ? schemas[refName(schema.$ref)] : schema;
  const properties = Object.entries(resolved?.properties ?? {});
  if (!resolved || properties.length === 0) return `<p>${typeOf(schema)}</p>`;
  const required = new Set(resolved.required ?? []);
  const rows = properties.map(([name, field]) => {
    const notes = [prose(field.description)];
    if (field.default !== undefined)
      notes.push(`default <code>${escapeHtml(JSON.stringify(field.default))}</code>`);
    const mark = required.has(name) ? ' <b title="required">*</b>' : '';
    return `<tr><td><code>${escapeHtml(name)}</code>${mark}</td><td>${typeOf(field)}</td><td>${notes.filter(Boolean).join('; ')}</td></tr>`;
  });
  return `<table><tr><th>field</th><th>type</th><th>notes</th></tr>${rows.join('')}</table>`;
}

function responseOf(doc: Document, response: Response): Response {
  return response.$ref ? (doc.components?.responses?.[refName(response.$ref)] ?? response) : response;
}

function operationHtml(doc: Document, entry: Entry, origin: string): string {
  const { op, method, path } = entry;
  const schemas = doc.components?.schemas ?? {};
  const parameters = op.parameters ?? [];
  const params = parameters
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <b title="required">*</b>' : ''}</td><td>${escapeHtml(p.in)}</td><td>${typeOf(p.schema)}</td><td>${prose(p.description ?? p.schema?.description)}</td></tr>`,
    )
    .join('');
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  const body = bodySchema ? exampleOf(bodySchema, schemas) : undefined;
  const secured = (op.security?.length ?? 0) > 0;
  const responses = Object.entries(op.responses ?? {})
    .map(([status, raw]) => {
      const r = responseOf(doc, raw);
      const schema = r.content?.['application/json']?.schema;
      const headers = Object.keys(r.headers ?? {}).map((h) => `<code>${escapeHtml(h)}</code>`);
      return `<tr><td>${escapeHtml(status)}</td><td>${prose(r.description)}</td><td>${schema ? typeOf(schema) : ''}</td><td>${headers.join(' ')}</td></tr>`;
    })
    .join('');
  const curl = curlLine(origin, method, path, { parameters, body, secured });
  return `<section class="op" id="${entry.id}" data-search="${escapeHtml(searchText(entry))}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p><b>${prose(op.summary)}</b> <small>operationId <code>${escapeHtml(op.operationId ?? '')}</code></small></p>
${op.description ? `<p>${prose(op.description)}</p>` : ''}
<p class="auth">${secured ? 'Needs an API key (<code>Authorization: Bearer</code> or <code>X-API-Key</code>).' : 'Public: no key.'}</p>
${params ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr>${params}</table>` : ''}
${bodySchema ? `<h4>Body (application/json): ${typeOf(bodySchema)}</h4>${fieldsTable(bodySchema, schemas)}<p>Example:</p><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre>` : ''}
<h4>Example</h4><pre class="curl">${escapeHtml(curl)}</pre>
<h4>Responses</h4><table><tr><th>status</th><th>meaning and codes</th><th>body</th><th>headers</th></tr>${responses}</table>
</section>`;
}

function searchText(entry: Entry): string {
  const { op } = entry;
  return [entry.tag, entry.method, entry.path, op.operationId, op.summary, op.description]
    .join(' ')
    .toLowerCase();
}

function errorCodesHtml(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const { status, message } = ERROR_CODES[code];
    const where = controlCodesOf(status).includes(code) ? 'control API' : 'data plane, tenant pages';
    return `<tr><td><code>${code}</code></td><td>${status}</td><td>${escapeHtml(message)}</td><td>${where}</td></tr>`;
  });
  return `<section id="errors"><h2>Error codes</h2><p>Every error answers <code>{"error": {"code", "message", "request_id", "details"?}}</code>; <code>details</code> (<code>[{path, message}]</code>) names the fields of a 422.</p>
<table><tr><th>code</th><th>status</th><th>meaning</th><th>answered by</th></tr>${rows.join('')}</table></section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222}header{padding:1rem 2rem;border-bottom:1px solid #ddd}
.layout{display:flex;gap:2rem;padding:0 2rem}nav{flex:0 0 17rem;position:sticky;top:0;max-height:100vh;overflow:auto;font-size:13px}
main{flex:1;min-width:0;max-width:62rem}nav ul{padding-left:1rem;margin:.2rem 0}nav li{list-style:none}nav a{overflow-wrap:anywhere}
code,pre{font:13px ui-monospace,monospace;background:#f3f3f3}code{padding:0 .2em}pre{padding:.5rem;overflow:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.3rem 0 1rem}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa}.op{border-top:1px solid #ccc;margin-top:1.5rem}.m{font:bold 13px ui-monospace,monospace;padding:.1rem .4rem;color:#fff;background:#555}
.get{background:#2a6}.post{background:#26a}.put{background:#a62}.patch{background:#86a}.delete{background:#a33}
.search input{font:inherit;padding:.2rem .4rem;width:18rem}.hidden{display:none}@media(max-width:50rem){.layout{display:block}nav{position:static}}`;

// Progressive enhancement: filters the sections as one types; without it the form asks the server.
const SCRIPT = `(()=>{const q=document.getElementById('q');if(!q)return;const f=()=>{const v=q.value.trim().toLowerCase();
for(const s of document.querySelectorAll('.op')){const hide=v!==''&&!s.dataset.search.includes(v);s.classList.toggle('hidden',hide);
const l=document.querySelector('nav a[href="#'+s.id+'"]');if(l)l.parentElement.classList.toggle('hidden',hide);}
for(const g of document.querySelectorAll('.group'))g.classList.toggle('hidden',!g.querySelector('.op:not(.hidden)'));};
q.addEventListener('input',f);})();`;

export function renderDocs(doc: Document, opts: { origin: string; q?: string }): string {
  const q = (opts.q ?? '').trim().toLowerCase();
  const entries: Entry[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const entry = { tag: op.tags?.[0] ?? 'other', method, path, op, id: anchor('op', `${method}-${path}`) };
      if (q === '' || searchText(entry).includes(q)) entries.push(entry);
    }
  }
  const tags = [...new Set(entries.map((e) => e.tag))];
  const nav = tags
    .map((tag) => {
      const items = entries
        .filter((e) => e.tag === tag)
        .map((e) => `<li><a href="#${e.id}">${e.method.toUpperCase()} ${escapeHtml(e.path)}</a></li>`);
      return `<li><a href="#${anchor('tag', tag)}">${escapeHtml(tag)}</a><ul>${items.join('')}</ul></li>`;
    })
    .join('');
  const groups = tags
    .map(
      (tag) =>
        `<section class="group" id="${anchor('tag', tag)}"><h2>${escapeHtml(tag)}</h2>${entries
          .filter((e) => e.tag === tag)
          .map((e) => operationHtml(doc, e, opts.origin))
          .join('')}</section>`,
    )
    .join('');
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section id="${anchor('schema', name)}"><h3>${escapeHtml(name)}</h3>${schema.description ? `<p>${prose(schema.description)}</p>` : ''}${fieldsTable(schema, doc.components?.schemas ?? {})}</section>`,
    )
    .join('');
  const none = entries.length === 0 ? `<p>No operation matches <code>${escapeHtml(q)}</code>.</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.info.title)}</title><style>${STYLE}</style></head><body>
<header><h1>${escapeHtml(doc.info.title)}</h1><p>${prose(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). The curl lines read the key from <code>$GATEWAY_KEY</code>.</p>
<form class="search" method="get" action="/docs" role="search"><label>Filter operations <input type="search" id="q" name="q" value="${escapeHtml(opts.q ?? '')}" placeholder="tenants, keys, POST, rotate…"></label> <button type="submit">Filter</button>${q ? ' <a href="/docs">show all</a>' : ''}</form></header>
<div class="layout"><nav aria-label="Contents"><h2>Contents</h2><ul>${nav}<li><a href="#errors">error codes</a></li><li><a href="#schemas">schemas</a></li></ul></nav>
<main>${none}${groups}${errorCodesHtml()}<h2 id="schemas">Schemas</h2>${schemas}</main></div>
<script>${SCRIPT}</script></body></html>`;
}
