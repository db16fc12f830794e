// Examples for the reference page, drawn from the OpenAPI document's own schemas: a request body with the
// required fields (each one's documented example where it has one), and the curl line that sends it.

export type Schema = {
  $ref?: string;
  type?: string | string[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
  default?: unknown;
  example?: unknown;
  minimum?: number;
  format?: string;
  additionalProperties?: unknown;
};

export type Parameter = {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
};

export type Schemas = Record<string, Schema>;

const MAX_DEPTH = 6;

export function refName(ref: string): string {
  return ref.split('/').pop() ?? '';
}

/** The smallest value the schema accepts: required fields only, each its documented example if any. */
export function exampleOf(schema: Schema | undefined, schemas: Schemas, depth = 0): unknown {
  if (!schema || depth > MAX_DEPTH) return null;
  if (schema.$ref) return exampleOf(schemas[refName(schema.$ref)], schemas, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return exampleOf(variants.find((v) => v.type !== 'null') ?? variants[0], schemas, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const value: Record<string, unknown> = {};
      for (const name of schema.required ?? [])
        value[name] = exampleOf(schema.properties?.[name], schemas, depth + 1);
      return value;
    }
    case 'array':
      return [exampleOf(schema.items, schemas, depth + 1)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      return schema.format === 'date-time' ? '2030-01-01T00:00:00Z' : 'string';
    default:
      return null;
  }
}

// Single quotes hold anything in a POSIX shell except a single quote itself.
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `curl` for one operation: its path parameters by their examples, the key from the environment. */
export function curlLine(
  origin: string,
  method: string,
  path: string,
  opts: { parameters: Parameter[]; body?: unknown; secured: boolean },
): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const param = opts.parameters.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(String(param?.schema?.example ?? name));
  });
  const parts = ['curl'];
  if (method !== 'get') parts.push('-X', method.toUpperCase());
  parts.push(shellQuote(`${origin}${filled}`));
  if (opts.secured) parts.push('-H', '"Authorization: Bearer $GATEWAY_KEY"');
  if (opts.body !== undefined) {
    parts.push(
      '-H',
      shellQuote('Content-Type: application/json'),
      '-d',
      shellQuote(JSON.stringify(opts.body)),
    );
  }
  return parts.join(' ');
}
