// Declarative configuration: what differs between an object as it is and as a file declares it.

/** JSON with object keys sorted, so two values that differ only in key order compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/**
 * The names of the fields `desired` declares whose values differ from `current`, in `desired`'s order.
 * A field `desired` leaves undefined is not declared, so it is never a change.
 */
export function changedFields(current: Record<string, unknown>, desired: Record<string, unknown>): string[] {
  return Object.keys(desired).filter(
    (field) =>
      desired[field] !== undefined && canonicalJson(current[field]) !== canonicalJson(desired[field]),
  );
}

/** Names that are taken twice in a file, with the index of each repeat. */
export function repeatedNames(names: readonly string[]): { index: number; name: string }[] {
  const seen = new Set<string>();
  const repeats: { index: number; name: string }[] = [];
  names.forEach((name, index) => {
    if (seen.has(name)) repeats.push({ index, name });
    seen.add(name);
  });
  return repeats;
}
