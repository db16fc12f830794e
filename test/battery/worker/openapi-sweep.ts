// The control API's operations as its own OpenAPI document lists them, with a request body each that passes
// validation, so a sweep over them reaches the authorisation checks rather than stopping at a 422.
import { api } from '../../worker/control-client';

type Schema = {
  $ref?: string;
  type?: string | string[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  example?: unknown;
  minimum?: number;
  minItems?: number;
  minLength?: number;
};
type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

export type SweptOperation = {
  method: string;
  /** As the document writes it, with `{param}` placeholders. */
  template: string;
  pathParams: string[];
  queryParams: string[];
  secured: boolean;
  body: unknown;
};

const METHODS = new Set(['get', 'put', 'post', 'patch', 'delete']);

export async function controlOperations(): Promise<SweptOperation[]> {
  const res = await api<Document>('GET', '/openapi.json', { key: null });
  if (res.status !== 200) throw new Error(`openapi.json: ${res.status}`);
  const doc = res.body;
  const operations: SweptOperation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const schema = op.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        template,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        secured: (op.security?.length ?? 0) > 0,
        body: schema ? exampleOf(schema, doc, 0) : undefined,
      });
    }
  }
  return operations;
}

/** The smallest value the schema accepts: required fields only, the documented example where there is one. */
function exampleOf(schema: Schema, doc: Document, depth: number): unknown {
  if (depth > 8) return null;
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    return exampleOf(doc.components?.schemas?.[name] ?? {}, doc, depth + 1);
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const notNull = alternatives.find((s) => s.type !== 'null') ?? alternatives[0];
    return exampleOf(notNull, doc, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) {
        out[name] = exampleOf(schema.properties?.[name] ?? {}, doc, depth + 1);
      }
      return out;
    }
    case 'array':
      return schema.minItems ? [exampleOf(schema.items ?? {}, doc, depth + 1)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      return 'battery';
  }
}

/** The template with each `{param}` replaced by `values[param]`; throws on a parameter it has no value for. */
export function fillPath(op: SweptOperation, values: Record<string, string>): string {
  return op.template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${op.template}`);
    return encodeURIComponent(value);
  });
}
