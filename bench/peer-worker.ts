// Starts the do-it-yourself peer (bench/peer.ts) in its own workerd process and loads the measured
// tenant's keys into its KV namespace, through the peer's own seeding route.
import { randomBytes } from 'node:crypto';
import type { Generated } from './requests';
import { generatedSecret, generatedTenant } from './seed';
import { type Bundle, type RunningWorker, startWorker } from './workerd';

export async function startPeer(
  bundle: Bundle,
  upstreamUrl: string,
  inspectorPort: number,
  load: Generated,
): Promise<RunningWorker> {
  const seedToken = randomBytes(16).toString('hex');
  const peer = await startWorker({
    name: 'peer',
    bundle,
    config: 'bench/peer.wrangler.toml',
    bindings: { UPSTREAM_URL: upstreamUrl, SEED_TOKEN: seedToken },
    inspectorPort,
  });
  const keys = load.tenants.flatMap((t) =>
    Array.from({ length: load.keys }, (_, k) => ({
      secret: generatedSecret(t, k),
      tenant: generatedTenant(t).id,
    })),
  );
  const seeded = await fetch(`${peer.url}/__seed`, {
    method: 'POST',
    headers: { 'x-seed-token': seedToken, 'content-type': 'application/json' },
    body: JSON.stringify(keys),
  });
  if (!seeded.ok) throw new Error(`the peer refused its keys: ${seeded.status} ${await seeded.text()}`);
  return peer;
}
