import { expect, test } from 'vitest';
import { api, newInstance } from './control-client';
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
