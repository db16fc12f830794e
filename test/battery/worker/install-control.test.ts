// Battery, install and control: guessing install tokens does not pay, and a slug is handed out once.
import { eq } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { delayAfter, type ThrottlePolicy } from '../../../src/core/limits/throttle';
import { WAITS } from '../../../src/core/time/clock';
import { tenants } from '../../../src/db/schema';
import { advanceClock, gatewayThrottle } from '../../worker/clock';
import { clientIp, installJson, pendingTenant } from '../../worker/console-client';
import { api, type ErrorBody, newInstance } from '../../worker/control-client';
import { unique, withDb } from '../../worker/helpers';

const admin = () => ({ email: `${unique('admin')}@example.com`, password: `pw-${crypto.randomUUID()}` });

type Attempt = { status: number; code: string; retryAfter: string | null; ms: number };

async function attempt(host: string, token: string, ip: string): Promise<Attempt> {
  const started = performance.now();
  const res = await installJson(host, { install_token: token, ...admin() }, ip);
  const body = (await res.json()) as Partial<ErrorBody>;
  return {
    status: res.status,
    code: body.error?.code ?? '',
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - started,
  };
}

describe('battery: install and control', () => {
  test('39 20 wrong install tokens from one client are slowed; the right one still works after', async () => {
    const t = await pendingTenant();
    const ip = clientIp();
    // All at once: firing in parallel must not get more guesses checked than firing one by one.
    const wrong = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(t.host, `gwi_guess${i}${crypto.randomUUID()}`, ip)),
    );
    for (const w of wrong) {
      expect(w.status === 403 || w.status === 429, JSON.stringify(w)).toBe(true);
      if (w.status === 403) expect(w.code).toBe('invalid_install_token');
      else
        expect({ code: w.code, retryAfter: Number(w.retryAfter) > 0 }).toEqual({
          code: 'rate_limited',
          retryAfter: true,
        });
    }
    const checked = wrong.filter((w) => w.status === 403).sort((x, y) => x.ms - y.ms);
    // A few free guesses, then each further guess waits longer: of 20, not even half are checked, and the
    // checked ones are spread over seconds (the 10th waits about 7.75 s), not answered at once. Within the
    // first second no more may be checked than the policy's slots that fall in it. The throttle's steps are
    // scaled in tests (core/time/clock): "a second" is the same share of them.
    const policy = gatewayThrottle().client;
    const second = (1_000 * policy.baseDelayMs) / WAITS.throttleBaseDelay;
    const slotsInFirstSecond = slotTimes(policy, 20).filter((at) => at < second).length;
    expect(checked.length).toBeGreaterThanOrEqual(5);
    expect(checked.length).toBeLessThanOrEqual(10);
    expect(checked.filter((w) => w.ms < second).length).toBeLessThanOrEqual(slotsInFirstSecond);
    expect(checked[checked.length - 1].ms).toBeGreaterThanOrEqual(3.5 * second);
    expect(await tenantStatus(t.tenant.id)).toBe('pending');

    // The right token, from the same client, once it has waited as long as it is told to.
    let right = await attempt(t.host, t.install_token, ip);
    for (let tries = 0; right.status === 429 && tries < 5; tries++) {
      // Told to come back in whole seconds: the gateway's clock is moved on by that much, not waited for.
      advanceClock(Number(right.retryAfter) * 1_000);
      right = await attempt(t.host, t.install_token, ip);
    }
    expect(right.status, JSON.stringify(right)).toBe(201);
    expect(await tenantStatus(t.tenant.id)).toBe('active');
  }, 90_000);

  test('40 20 concurrent creations of one slug → one 201, the rest 409 slug_conflict', async () => {
    const instance = await newInstance();
    const slug = unique('race');
    // Some give the slug, some a name that reduces to it: both must meet the same uniqueness.
    const bodies = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? { name: `Race ${i}`, slug, instance }
        : { name: `${slug.slice(0, 4)}-${slug.slice(4).toUpperCase()}`, instance },
    );
    const answers = await Promise.all(bodies.map((body) => api<ErrorBody>('POST', '/v1/tenants', { body })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array<number>(19).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).toBe('slug_conflict');
    const rows = await withDb((db) =>
      db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, slug)),
    );
    expect(rows).toHaveLength(1);
    const created = answers.find((a) => a.status === 201)?.body as unknown as { tenant: { id: string } };
    expect(rows[0].id).toBe(created.tenant.id);
  });
});

/** When each of `count` attempts fired at once may be checked under `policy`, in ms from the first. */
function slotTimes(policy: ThrottlePolicy, count: number): number[] {
  const times: number[] = [];
  for (let failures = 0, at = 0; failures < count; failures++) {
    at += delayAfter(failures, policy);
    times.push(at);
  }
  return times;
}

async function tenantStatus(id: string) {
  const [row] = await withDb((db) =>
    db.select({ status: tenants.status }).from(tenants).where(eq(tenants.id, id)),
  );
  return row.status;
}
