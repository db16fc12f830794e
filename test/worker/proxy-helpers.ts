// What the forwarding and failover tests share: a tenant on an instance with the upstreams (and timeout)
// a test needs, and bodies to send: random bytes, a chunked upload, and their SHA-256 to compare with the
// echo upstream's.
import { eq } from 'drizzle-orm';
import { toHex } from '../../src/core/crypto/secrets';
import { instances } from '../../src/db/schema';
import { seedTenant, withDb } from './helpers';

/** A tenant whose instance has these upstreams, in order, and this timeout; `auth` bears its key. */
export async function tenantOn(upstreams: string[], timeoutMs = 30_000) {
  const t = await seedTenant({ upstreams });
  await withDb((db) => db.update(instances).set({ timeoutMs }).where(eq(instances.name, t.instance)));
  return { ...t, auth: { authorization: `Bearer ${t.key}` } };
}

export async function sha256(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65536)));
  return bytes;
}

/** `bytes` as a stream of `size`-byte chunks, as a client upload arrives. */
export function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}
