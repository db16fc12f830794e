// Tenant slugs and instance names. A slug is what a tenant's host label reduces to, so the rules here and
// in host.ts must agree: `company-x.gw.example.com` and the display name `Company-X` both give `companyx`.

export const SLUG_MAX_LENGTH = 62;

const NOT_SLUG_CHAR = /[^a-z0-9]/g;
const COMBINING_MARK = /\p{M}/gu;
const SLUG = /^[a-z0-9]{1,62}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// Latin letters that NFKD leaves whole; without these `Straße` would become `strae`.
const LATIN_EXTRAS = /[ßæœøđðłþı]/g;
const LATIN_EXTRAS_MAP: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
};

/** The slug a host label names: `Company-X` → `companyx`. */
export function slugFromLabel(label: string): string {
  return label.toLowerCase().replace(NOT_SLUG_CHAR, '');
}

/** A slug proposed from a display name: `Café Müller` → `cafemuller`. Not truncated; check it with checkSlug. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(COMBINING_MARK, '')
    .replace(LATIN_EXTRAS, (c) => LATIN_EXTRAS_MAP[c] ?? '')
    .replace(NOT_SLUG_CHAR, '');
}

/**
 * Slugs an operator may not give a tenant: names a host label would clash with (the control host, common
 * service subdomains) or that read as the gateway's own. `public` is listed although the tenant exists:
 * migrations create it, operators cannot.
 */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'control',
  'www',
  'api',
  'admin',
  'public',
  'gateway',
  'console',
  'app',
  'mail',
  'static',
  'assets',
  'cdn',
  'docs',
  'status',
  'support',
  'help',
  'root',
  'system',
  'internal',
  'localhost',
  'default',
  'dashboard',
]);

export type SlugProblem = { code: 'slug_reserved' | 'validation_failed'; message: string };

/**
 * Null when an operator may create a tenant with this slug, else why not. `baseLabels` are the labels of the
 * configured base domains (by slug, with the base domain each is of): each is reserved too, so no tenant host
 * reads as a base domain when base domains nest (`app.example.com` under `example.com`).
 */
export function checkSlug(slug: string, baseLabels?: ReadonlyMap<string, string>): SlugProblem | null {
  if (slug.length === 0) {
    return { code: 'validation_failed', message: 'slug must have at least one letter or digit' };
  }
  if (slug.length > SLUG_MAX_LENGTH) {
    return { code: 'validation_failed', message: `slug must be at most ${SLUG_MAX_LENGTH} characters` };
  }
  if (!SLUG.test(slug)) {
    return {
      code: 'validation_failed',
      message: 'slug may contain only lower-case letters a-z and digits 0-9',
    };
  }
  if (RESERVED_SLUGS.has(slug)) {
    return { code: 'slug_reserved', message: `slug "${slug}" is reserved` };
  }
  const base = baseLabels?.get(slug);
  if (base !== undefined) {
    return {
      code: 'slug_reserved',
      message: `slug "${slug}" is reserved: it is a label of base domain ${base}`,
    };
  }
  return null;
}

/** The backend storage namespace of a tenant; at most 64 characters for a valid slug. */
export function schemaNameFor(slug: string): string {
  return `t_${slug}`;
}

/** An instance name: one lower-case DNS label, so it can sit in `{tenant}.{instance}.{base}`. */
export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}
