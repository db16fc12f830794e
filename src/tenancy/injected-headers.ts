// A tenant's injected headers as its writes store them: new values sealed with SEALING_KEY here, inside the
// write, so no plaintext reaches the row, the audit trail (which sees the tenant's JSON: names and times only)
// or the outbox.

import { seal } from '../core/crypto/seal';
import { type HeaderEdit, MAX_INJECTED_HEADERS, planHeaderEdits } from '../core/http/inject-headers';
import type { SealedHeaders } from '../db/schema';
import { invalid } from './tenant-placement';

/** What a write does to the injected headers, and the SEALING_KEY its new values are sealed with. */
export type HeaderChange = {
  edits: Readonly<Record<string, HeaderEdit>>;
  /** PUT and config apply: the names the edits leave out are removed. PATCH: they stay. */
  replace: boolean;
  sealingKey: string;
};

/** The column after `change`; 422 for a header kept that has no value, or more than the limit in all. */
export async function nextInjectedHeaders(
  stored: SealedHeaders,
  change: HeaderChange,
): Promise<SealedHeaders> {
  const plan = planHeaderEdits(stored, change.edits, change.replace);
  const details = plan.missing.map((name) => ({
    path: `inject_headers.${name}`,
    message: 'no value is stored for this header: give one',
  }));
  if (Object.keys(plan.next).length > MAX_INJECTED_HEADERS) {
    details.push({ path: 'inject_headers', message: `at most ${MAX_INJECTED_HEADERS} headers in all` });
  }
  if (details.length > 0) throw invalid(details);
  const updatedAt = new Date().toISOString();
  const next: SealedHeaders = {};
  for (const [name, entry] of Object.entries(plan.next)) {
    next[name] =
      'kept' in entry
        ? entry.kept
        : { sealed: await seal(entry.value, change.sealingKey), updated_at: updatedAt };
  }
  return next;
}
