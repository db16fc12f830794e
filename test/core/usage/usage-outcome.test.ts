import { describe, expect, it } from 'vitest';
import { requestUsage } from '../../../src/core/usage/usage-outcome';

describe('requestUsage', () => {
  it('counts an admitted request by the status the client got', () => {
    expect(requestUsage(200, { admitted: true })).toEqual({ requests: 1, allowed: 1, status_2xx: 1 });
    expect(requestUsage(302, { admitted: true })).toEqual({ requests: 1, allowed: 1, status_3xx: 1 });
    expect(requestUsage(404, { admitted: true })).toEqual({ requests: 1, allowed: 1, status_4xx: 1 });
    expect(requestUsage(502, { admitted: true, code: 'upstream_unavailable' })).toEqual({
      requests: 1,
      allowed: 1,
      status_5xx: 1,
    });
  });

  it('counts refusals apart: rate limit, quota, missing or invalid key, missing scope', () => {
    expect(requestUsage(429, { admitted: false, code: 'rate_limited' })).toEqual({
      requests: 1,
      rate_limited: 1,
      status_4xx: 1,
    });
    expect(requestUsage(429, { admitted: false, code: 'quota_exceeded' })).toEqual({
      requests: 1,
      quota_exceeded: 1,
      status_4xx: 1,
    });
    for (const code of ['missing_api_key', 'invalid_api_key']) {
      expect(requestUsage(401, { admitted: false, code })).toEqual({
        requests: 1,
        unauthorized: 1,
        status_4xx: 1,
      });
    }
    expect(requestUsage(403, { admitted: false, code: 'insufficient_scope' })).toEqual({
      requests: 1,
      unauthorized: 1,
      status_4xx: 1,
    });
    expect(requestUsage(403, { admitted: false, code: 'tenant_suspended' })).toEqual({
      requests: 1,
      status_4xx: 1,
    });
    expect(requestUsage(503, { admitted: false, code: 'limiter_unavailable' })).toEqual({
      requests: 1,
      status_5xx: 1,
    });
  });

  it("counts the backend's own 4xx and 5xx apart from the gateway's", () => {
    expect(requestUsage(404, { admitted: true, fromBackend: true })).toEqual({
      requests: 1,
      allowed: 1,
      status_4xx: 1,
      backend_4xx: 1,
    });
    expect(requestUsage(503, { admitted: true, fromBackend: true })).toEqual({
      requests: 1,
      allowed: 1,
      status_5xx: 1,
      backend_5xx: 1,
    });
    expect(requestUsage(200, { admitted: true, fromBackend: true })).toEqual({
      requests: 1,
      allowed: 1,
      status_2xx: 1,
    });
  });

  it('puts a protocol switch in no status class', () => {
    expect(requestUsage(101, { admitted: true })).toEqual({ requests: 1, allowed: 1 });
  });
});
