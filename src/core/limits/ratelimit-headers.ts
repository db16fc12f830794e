// IETF httpapi RateLimit headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` lists every
// quota, `RateLimit` reports the one a client will hit first.
import { type WindowKind, windowMs } from './windows';

export type RateLimitPolicy = { name: WindowKind; limit: number; remaining: number; resetSeconds: number };

export type RateLimitHeaders = { 'RateLimit-Policy': string; RateLimit: string };

/** Null when there is no policy: an unlimited tenant sends no RateLimit headers at all. */
export function rateLimitHeaders(policies: RateLimitPolicy[]): RateLimitHeaders | null {
  if (policies.length === 0) return null;
  const clean = policies
    .map((p) => {
      const limit = Math.max(0, Math.floor(p.limit));
      return {
        name: p.name,
        limit,
        // Remaining is an estimate built from several leases; clamp so clients never see nonsense.
        remaining: Math.min(limit, Math.max(0, Math.floor(p.remaining))),
        reset: Math.max(0, Math.ceil(p.resetSeconds)),
      };
    })
    .sort((a, b) => windowMs(a.name) - windowMs(b.name));
  const ratio = (p: { limit: number; remaining: number }) => (p.limit === 0 ? 0 : p.remaining / p.limit);
  let nearest = clean[0]!;
  // Strict < with the list sorted by window length: on a tie the smaller window wins.
  for (const p of clean) if (ratio(p) < ratio(nearest)) nearest = p;
  return {
    'RateLimit-Policy': clean.map((p) => `"${p.name}";q=${p.limit};w=${windowMs(p.name) / 1000}`).join(', '),
    RateLimit: `"${nearest.name}";r=${nearest.remaining};t=${nearest.reset}`,
  };
}
