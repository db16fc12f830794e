import { describe, expect, test } from 'vitest';
import { parseBaseDomains } from '../../../src/core/http/base-domains';
import { pagesUrl, tenantUrls } from '../../../src/core/tenancy/tenant-urls';

const baseDomains = parseBaseDomains('app.example.com=gui,api.example.com=api,gw.example.com').listed;

describe('tenant URLs', () => {
  test('one per base domain whose service the home instance has, in BASE_DOMAINS order, always https', () => {
    const urls = tenantUrls({
      slug: 'acme',
      instance: 'instance1',
      services: ['default', 'gui'],
      baseDomains,
    });
    expect(urls).toEqual([
      { service: 'gui', base_domain: 'app.example.com', url: 'https://acme.instance1.app.example.com' },
      { service: 'default', base_domain: 'gw.example.com', url: 'https://acme.instance1.gw.example.com' },
    ]);
    // The tenant's pages (install, console) live on the gui host when there is one, else the first.
    expect(pagesUrl(urls)).toBe('https://acme.instance1.app.example.com');
    expect(pagesUrl(urls.slice(1))).toBe('https://acme.instance1.gw.example.com');
    expect(pagesUrl([])).toBeNull();
  });

  test('none without a home instance; locally (*.localhost) http with the dev port', () => {
    expect(tenantUrls({ slug: 'acme', instance: null, services: ['default'], baseDomains })).toEqual([]);
    const local = parseBaseDomains('localhost,app.localhost=gui').listed;
    const input = { slug: 'acme', instance: 'i1', services: ['default', 'gui'], baseDomains: local };
    expect(tenantUrls({ ...input, localPort: '8787' }).map((u) => u.url)).toEqual([
      'http://acme.i1.localhost:8787',
      'http://acme.i1.app.localhost:8787',
    ]);
    expect(tenantUrls(input).map((u) => u.url)).toEqual([
      'http://acme.i1.localhost',
      'http://acme.i1.app.localhost',
    ]);
  });
});
