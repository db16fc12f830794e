// The key lookup of the data plane (src/edge/authenticate.ts): a secret once matched skips the SHA-256 on
// later requests of the same snapshot, and only a matching secret is ever remembered.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/crypto/secrets';
import type { TenantRecord } from '../../src/db/snapshot-query';
import { authenticateRequest } from '../../src/edge/authenticate';
import { compileSnapshot } from '../../src/edge/snapshot';

const SECRET = 'gw_live_cachedsecret0123456789';

async function snapshotWith(keys: { id: string; secret: string; expiresAt?: string }[]) {
  const record: TenantRecord = {
    id: 'ten_auth',
    slug: 'auth',
    name: 'auth',
    schema_name: 'tenant_auth',
    status: 'active',
    version: 1,
    rate_limit: null,
    auth: { mode: 'required', public_paths: [] },
    routes: [],
    limits: { on_gate_error: 'closed' },
    upstream: null,
    inject_headers: {},
    home_instance: null,
    instances: [],
    domains: [],
    keys: await Promise.all(
      keys.map(async (k) => ({
        id: k.id,
        hash: await sha256Hex(k.secret),
        scopes: ['proxy:read'],
        expires_at: k.expiresAt ?? null,
        rate_limit: null,
      })),
    ),
  };
  return compileSnapshot(record, undefined);
}

const bearer = (secret: string) => new Headers({ authorization: `Bearer ${secret}` });

describe('authenticateRequest: secrets matched once per snapshot', () => {
  it('remembers a matching secret and finds its key again without hashing', async () => {
    const snapshot = await snapshotWith([{ id: 'key_a', secret: SECRET }]);
    const first = await authenticateRequest(snapshot, 'GET', '/x', bearer(SECRET), Date.now());
    expect(first.key?.id).toBe('key_a');
    expect([...snapshot.keysBySecret.keys()]).toEqual([SECRET]);
    // The remembered entry is what answers now: the key map no longer holds it by hash.
    snapshot.keys.clear();
    const again = await authenticateRequest(snapshot, 'GET', '/y', bearer(SECRET), Date.now());
    expect(again.key?.id).toBe('key_a');
  });

  it('never remembers a wrong secret, and a remembered key that expired is refused', async () => {
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const snapshot = await snapshotWith([{ id: 'key_b', secret: SECRET, expiresAt }]);
    await expect(
      authenticateRequest(snapshot, 'GET', '/x', bearer(`${SECRET}x`), Date.now()),
    ).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(snapshot.keysBySecret.size).toBe(0);
    await authenticateRequest(snapshot, 'GET', '/x', bearer(SECRET), Date.now());
    await expect(
      authenticateRequest(snapshot, 'GET', '/x', bearer(SECRET), Date.now() + 120_000),
    ).rejects.toMatchObject({ code: 'invalid_api_key' });
  });
});
