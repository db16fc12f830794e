// A configuration file's secrets given as `{from_env: NAME}` rather than written in the file (a tenant's
// injected header values): `npm run config:apply` resolves them from the operator's own environment before it
// sends the file. The gateway takes literal values only and never reads its own environment for them.

export type UnresolvedEnv = { path: string; name: string };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fromEnvName(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { from_env: name, ...rest } = value as Record<string, unknown>;
  return typeof name === 'string' && Object.keys(rest).length === 0 ? name : undefined;
}

/**
 * `file` with every `tenants[i].inject_headers[NAME] = {from_env: VAR}` replaced by `env[VAR]`, and the
 * references that could not be (a variable not set, or not a variable name), each with its path in the file.
 * `file` itself is not changed; a file without such references comes back as it is.
 */
export function resolveFromEnv(
  file: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { file: unknown; resolved: number; missing: UnresolvedEnv[] } {
  const missing: UnresolvedEnv[] = [];
  let resolved = 0;
  const tenants = (file as { tenants?: unknown } | null)?.tenants;
  if (!Array.isArray(tenants)) return { file, resolved, missing };
  const resolvedTenants = tenants.map((tenant: unknown, index) => {
    const headers = (tenant as { inject_headers?: unknown } | null)?.inject_headers;
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) return tenant;
    const entries = Object.entries(headers).map(([header, value]) => {
      const name = fromEnvName(value);
      if (name === undefined) return [header, value];
      const found = ENV_NAME.test(name) ? env[name] : undefined;
      if (found === undefined) {
        missing.push({ path: `tenants.${index}.inject_headers.${header}`, name });
        return [header, value];
      }
      resolved++;
      return [header, found];
    });
    return { ...(tenant as object), inject_headers: Object.fromEntries(entries) };
  });
  if (resolved === 0 && missing.length === 0) return { file, resolved, missing };
  return { file: { ...(file as object), tenants: resolvedTenants }, resolved, missing };
}
