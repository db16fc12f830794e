import { expect, test } from 'vitest';
import { api, errorCode, newInstance } from './control-client';
import { unique } from './helpers';

test('the same slug created 20 times at once: exactly one 201, the rest 409 slug_conflict, no 5xx', async () => {
  const instance = await newInstance();
  const slug = unique('race');
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api('POST', '/v1/tenants', { body: { name: `Race ${i}`, slug, instance } }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  for (const a of answers.filter((x) => x.status === 409)) {
    expect((a.body as { error: { code: string } }).error.code).toBe('slug_conflict');
  }
  const list = await api<{ data: { slug: string }[] }>('GET', `/v1/tenants?q=${slug}`);
  expect(list.body.data.map((t) => t.slug)).toEqual([slug]);
});

test('20 creates at once on an instance with max_tenants 5: exactly 5 placed, 15 get 409 instance_full', async () => {
  const instance = await newInstance();
  await api('PATCH', `/v1/instances/${instance}`, { body: { max_tenants: 5 } });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api('POST', '/v1/tenants', { body: { name: unique(`Full ${i} `), instance } }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(5);
  expect(answers.filter((a) => a.status === 409 && errorCode(a) === 'instance_full')).toHaveLength(15);
  const got = await api<{ instance: { tenant_count: number } }>('GET', `/v1/instances/${instance}`);
  expect(got.body.instance.tenant_count).toBe(5);
});
