import { expect, it } from 'vitest';
import { resolveFromEnv } from '../../../src/core/tenancy/config-env';

it('replaces each {from_env} header value with the variable, names every one not set, changes nothing else', () => {
  const file = {
    instances: [{ name: 'i1', upstreams: ['https://a.example'] }],
    tenants: [
      { slug: 'plain', name: 'Plain', instance: 'i1' },
      {
        slug: 'acme',
        name: 'Acme',
        instance: 'i1',
        inject_headers: {
          'X-Smtp-Password': { from_env: 'ACME_SMTP_PASSWORD' },
          'X-Literal': 'as written',
          'X-Kept': { set: true },
          'X-Missing': { from_env: 'NOT_SET_ANYWHERE' },
          'X-Bad-Name': { from_env: 'no spaces allowed' },
        },
      },
    ],
  };
  const before = structuredClone(file);
  const out = resolveFromEnv(file, { ACME_SMTP_PASSWORD: 'hunter2', PATH: '/bin' });
  expect(file).toEqual(before);
  expect(out.resolved).toBe(1);
  expect(out.missing).toEqual([
    { path: 'tenants.1.inject_headers.X-Missing', name: 'NOT_SET_ANYWHERE' },
    { path: 'tenants.1.inject_headers.X-Bad-Name', name: 'no spaces allowed' },
  ]);
  const tenants = (out.file as typeof file).tenants;
  expect(tenants[0]).toEqual(file.tenants[0]);
  expect(tenants[1].inject_headers).toEqual({
    'X-Smtp-Password': 'hunter2',
    'X-Literal': 'as written',
    'X-Kept': { set: true },
    'X-Missing': { from_env: 'NOT_SET_ANYWHERE' },
    'X-Bad-Name': { from_env: 'no spaces allowed' },
  });
  // An empty variable is a value like any other (the gateway judges it); a file without references is itself.
  expect(
    resolveFromEnv({ tenants: [{ inject_headers: { 'X-A': { from_env: 'EMPTY' } } }] }, { EMPTY: '' })
      .missing,
  ).toEqual([]);
  const untouched = { tenants: [{ slug: 'x', inject_headers: { 'X-A': 'v' } }] };
  expect(resolveFromEnv(untouched, {}).file).toBe(untouched);
  expect(resolveFromEnv('not a file', {}).file).toBe('not a file');
});
