// fast-check arbitraries drawn from the OpenAPI document's own schemas, in the spirit of Schemathesis: values
// a schema accepts, and values near it that it does not (a wrong type, a field too many or missing, a
// control character, a nesting too deep), so a fuzz run reaches both the handlers and the refusals.
import fc from 'fast-check';

export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  example?: unknown;
};

export type Components = { schemas: Record<string, Schema> };

const MAX_DEPTH = 5;

function resolve(schema: Schema, components: Components): Schema {
  let current = schema;
  for (let i = 0; current.$ref && i < 10; i++)
    current = components.schemas[current.$ref.split('/').pop() ?? ''];
  return current;
}

function stringOf(schema: Schema): fc.Arbitrary<string> {
  const maxLength = Math.min(schema.maxLength ?? 24, 24);
  const minLength = Math.min(schema.minLength ?? 0, maxLength);
  if (schema.pattern)
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 1e9));
  if (schema.format === 'date-time')
    return fc
      .date({ min: new Date('2030-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  const examples = schema.example === undefined ? [] : [fc.constant(String(schema.example))];
  return fc.oneof(...examples, fc.string({ minLength: Math.max(minLength, 1), maxLength }));
}

/** Values `schema` accepts (or very nearly: refinements the document cannot say, such as URL rules). */
export function valid(schema: Schema, components: Components, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  if (s.enum) return fc.constantFrom(...s.enum);
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return fc.oneof(...variants.map((v) => valid(v, components, depth + 1)));
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => valid({ ...s, type }, components, depth)));
  switch (types[0]) {
    case 'string':
      return stringOf(s);
    case 'integer': {
      const min = s.minimum ?? -1000;
      const max = s.maximum ?? Math.max(min + 1000, 1000);
      // Mostly small (a page of 200 rows costs the run more than it finds), and the bounds themselves.
      return fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min, max: Math.min(max, min + 20) }) },
        { weight: 1, arbitrary: fc.constantFrom(min, max) },
      );
    }
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (depth >= MAX_DEPTH) return fc.constant([]);
      const minLength = s.minItems ?? 0;
      const maxLength = Math.max(minLength, Math.min(s.maxItems ?? 3, 3));
      return fc.array(valid(s.items ?? {}, components, depth + 1), { minLength, maxLength });
    }
    case 'object': {
      if (!s.properties)
        return depth >= MAX_DEPTH
          ? fc.constant({})
          : fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, field] of Object.entries(s.properties))
        record[key] = valid(field, components, depth + 1);
      const requiredKeys = s.required ?? [];
      return fc.record(record, { requiredKeys });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  'a\u0000b',
  'x\u001b[31m',
  '\u202eevil',
  '\ud800',
  'é'.repeat(300),
  'x'.repeat(5000),
  '../..',
  '%00',
  '*',
  'public',
];

/** A value near `schema` that it (most likely) refuses: a field changed, dropped or added. */
export function invalid(schema: Schema, components: Components): fc.Arbitrary<unknown> {
  const hostile = fc.oneof(
    fc.constantFrom<unknown>(...HOSTILE_STRINGS, -1, 0, 1e300, true, null, [], {}),
    fc.jsonValue({ maxDepth: 3 }),
  );
  return fc.oneof(
    hostile,
    fc.constant(nested(40)),
    fc
      .tuple(valid(schema, components), fc.string({ maxLength: 12 }), hostile)
      .map(([value, key, replacement]) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return replacement;
        const keys = Object.keys(value);
        const copy: Record<string, unknown> = { ...value };
        // Replace a field, drop one, or add one.
        if (keys.length > 0 && key.length % 3 === 0) copy[keys[key.length % keys.length]] = replacement;
        else if (keys.length > 0 && key.length % 3 === 1) delete copy[keys[key.length % keys.length]];
        else copy[key || 'extra'] = replacement;
        return copy;
      }),
  );
}

/** A body as sent: JSON of a valid or invalid value, or text no JSON parser takes as one value. */
export function bodyText(schema: Schema, components: Components): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid(schema, components).map((v) => JSON.stringify(v)) },
    { weight: 4, arbitrary: invalid(schema, components).map((v) => JSON.stringify(v) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{',
        '',
        '{"name":"a","name":"b"}',
        '[]',
        '"x"',
        '{"a":1}garbage',
        '\u0000',
        '['.repeat(3000),
      ),
    },
  );
}

/** A path or query value: one that names something, one the schema accepts, or a hostile one. */
export function parameterValue(
  schema: Schema,
  components: Components,
  known: string[],
): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant('x') },
    { weight: 2, arbitrary: valid(schema, components).map((v) => String(v)) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40, unit: 'binary' })),
    },
  );
}
