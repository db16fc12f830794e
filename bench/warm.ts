// Loads every tenant of a scenario into the gateway's cache before its warm-up, 16 at a time, so the rounds
// measure warm tenants and not the first load of each from Postgres. Bounded in time: a gateway that loads
// tenants slowly is reported, not waited for.
import { request } from './http';
import type { Target } from './load';

export type Warmed = { loaded: number; refused: number; left: number; firstRefusal: string | null };

export async function warmTenants(url: string, targets: Target[], deadlineMs: number): Promise<Warmed> {
  const queue = [...targets];
  const deadline = performance.now() + deadlineMs;
  const warmed: Warmed = { loaded: 0, refused: 0, left: 0, firstRefusal: null };
  const worker = async () => {
    for (let t = queue.shift(); t && performance.now() < deadline; t = queue.shift()) {
      const answer = await request(url, { host: t.host, headers: t.headers }).catch((err: Error) => ({
        status: 0,
        body: err.message,
      }));
      if (answer.status === 200) warmed.loaded++;
      else {
        warmed.refused++;
        warmed.firstRefusal ??= `${answer.status} ${answer.body.slice(0, 120)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  warmed.left = targets.length - warmed.loaded - warmed.refused;
  return warmed;
}
