import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { baseDomainsOf, parseBaseDomains } from '../../../src/core/http/base-domains';
import { defaultBaseDomain, type HostMatch, matchHost, normalizeHost } from '../../../src/core/http/host';

describe('normalizeHost', () => {
  test.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['EXAMPLE.com:443', 'example.com'],
    ['example.com:', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:8787', 'example.com'],
    ['localhost', 'localhost'],
    ['localhost:8787', 'localhost'],
    ['acme.instance1.localhost', 'acme.instance1.localhost'],
    ['company-x.gw.example.com', 'company-x.gw.example.com'],
    ['a1.b2.c3', 'a1.b2.c3'],
    ['bücher.localhost', 'xn--bcher-kva.localhost'],
    ['BÜCHER.localhost:8787', 'xn--bcher-kva.localhost'],
    ['xn--bcher-kva.localhost', 'xn--bcher-kva.localhost'],
    ['XN--BCHER-KVA.localhost', 'xn--bcher-kva.localhost'],
    ['münchen.de.', 'xn--mnchen-3ya.de'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    ['ａｃｍｅ.localhost', 'acme.localhost'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected);
  });

  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:8787', '127.0.0.1'],
    ['93.184.216.34', '93.184.216.34'],
    ['127.0.0.1.', '127.0.0.1'],
    // The URL parser's IPv4 forms; requests reach the worker already in this shape.
    ['127.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
  ])('IPv4 %j → %j', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected);
  });

  test.each([
    ['[::1]', '[::1]'],
    ['[::1]:8787', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'],
    ['[0:0::1]', '[::1]'],
    ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]'],
  ])('IPv6 %j → %j', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected);
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
    ['empty', ''],
    ['only a dot', '.'],
    ['only a port', ':80'],
    ['two trailing dots', 'example.com..'],
    ['empty label', 'a..b'],
    ['leading dot', '.example.com'],
    ['leading hyphen', '-acme.example.com'],
    ['trailing hyphen', 'acme-.example.com'],
    ['underscore', 'a_b.example.com'],
    ['label of 64', `${'a'.repeat(64)}.com`],
    ['300 characters', `${'abcdefghi.'.repeat(29)}abcdefghij`],
    ['254 characters', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`],
    ['space', 'exa mple.com'],
    ['leading space', ' example.com'],
    ['tab', 'exa\tmple.com'],
    ['newline', 'example.com\n'],
    ['no-break space', 'exa\u00a0mple.com'],
    ['ideographic space', 'exa\u3000mple.com'],
    ['slash', 'example.com/evil'],
    ['at', 'user@example.com'],
    ['question mark', 'example.com?x'],
    ['hash', 'example.com#x'],
    ['backslash', 'example.com\\evil'],
    ['percent', 'ex%61mple.com'],
    ['asterisk', '*.example.com'],
    ['non-numeric port', 'example.com:http'],
    ['port too large', 'example.com:65536'],
    ['two colons', 'example.com:80:80'],
    ['bare IPv6', '::1'],
    ['unclosed bracket', '[::1'],
    ['IPv6 zone id', '[fe80::1%25eth0]'],
    ['junk after bracket', '[::1]x'],
    ['bracketed name', '[example.com]'],
    ['invalid IPv6', '[:::1]'],
    ['numeric last label', 'foo.123'],
    ['out-of-range IPv4', '256.1.1.1'],
    ['invalid punycode', 'xn--zz.example.com'],
    ['C1 control', 'exa\u0085mple.com'],
    ['full-width at sign', 'user\uff20example.com'],
    ['full-width solidus', 'example.com\uff0fevil'],
  ])('rejects %s', (_name, raw) => {
    expect(normalizeHost(raw)).toBeNull();
  });

  test('253 characters is the longest host', () => {
    const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(host).toHaveLength(253);
    expect(normalizeHost(host)).toBe(host);
    expect(normalizeHost(`${host}.`)).toBe(host);
  });

  test('is idempotent', () => {
    for (const raw of ['Bücher.localhost.:80', '[0:0::1]:1', '127.1', 'ACME.example.com']) {
      const once = normalizeHost(raw);
      expect(once).not.toBeNull();
      expect(normalizeHost(once)).toBe(once);
    }
  });

  test('the fast path for plain ASCII agrees with the URL parser', () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{0,8}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));
    fc.assert(
      fc.property(name, (raw) => {
        const result = normalizeHost(raw);
        if (result === null) return;
        expect(result).toBe(new URL(`http://${raw}`).hostname.replace(/\.$/, ''));
        expect(result).toMatch(/^[a-z0-9.-]+$/);
      }),
    );
  });

  test('never returns anything but a lower-case DNS name or bracketed IPv6', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const result = normalizeHost(raw);
        if (result === null) return;
        expect(result).toMatch(/^([a-z0-9.-]{1,253}|\[[0-9a-f:]+\])$/);
        expect(result).not.toMatch(/(^|\.)(-|\.|$)|-(\.|$)/);
      }),
      { numRuns: 2000 },
    );
  });
});

const domainsOf = (csv: string) => parseBaseDomains(csv).byLength.map((b) => b.domain);

describe('parseBaseDomains', () => {
  test('trims, normalises, drops empty entries, longest first; each bad entry is refused, saying why', () => {
    const parsed = parseBaseDomains(' example.com , GW.Example.com., ,localhost:8787,bad_host,,a..b ');
    expect(parsed.byLength.map((b) => b.domain)).toEqual(['gw.example.com', 'example.com', 'localhost']);
    expect(parsed.listed.map((b) => b.domain)).toEqual(['example.com', 'gw.example.com', 'localhost']);
    expect(parsed.problems).toEqual([
      'BASE_DOMAINS entry "bad_host": not a valid DNS name',
      'BASE_DOMAINS entry "a..b": not a valid DNS name',
    ]);
  });

  test('drops duplicates after normalising', () => {
    expect(domainsOf('localhost,LOCALHOST,localhost.')).toEqual(['localhost']);
  });

  test('IDN entries become punycode', () => {
    expect(domainsOf('bücher.example')).toEqual(['xn--bcher-kva.example']);
  });

  test('equal lengths sort alphabetically so the order is stable', () => {
    expect(domainsOf('b.example,a.example')).toEqual(['a.example', 'b.example']);
  });

  test.each(['', ' ', ',', ' , ,'])('%j gives none', (csv) => {
    expect(parseBaseDomains(csv)).toEqual({ byLength: [], listed: [], labels: new Map(), problems: [] });
  });

  test('`=service` names the service; none is `default`; every label is reserved with its base domain', () => {
    const parsed = parseBaseDomains('app.example.com=gui, api.example.com = api ,gw.example.com,example.com');
    expect(parsed.listed).toEqual([
      { domain: 'app.example.com', service: 'gui' },
      { domain: 'api.example.com', service: 'api' },
      { domain: 'gw.example.com', service: 'default' },
      { domain: 'example.com', service: 'default' },
    ]);
    expect(parsed.problems).toEqual([]);
    expect([...parsed.labels]).toEqual([
      ['app', 'app.example.com'],
      ['example', 'app.example.com'],
      ['com', 'app.example.com'],
      ['api', 'api.example.com'],
      ['gw', 'gw.example.com'],
    ]);
  });

  test.each([
    ['app.example.com=GUI', 'service "GUI" is not a DNS label'],
    ['app.example.com=gui_x', 'service "gui_x" is not a DNS label'],
    ['app.example.com=', 'service "" is not a DNS label'],
    ['app.example.com=-gui', 'service "-gui" is not a DNS label'],
    ['app.example.com=gui,app.example.com=api', 'app.example.com is listed for services gui and api'],
  ])('%j is refused: %s', (csv, message) => {
    const parsed = parseBaseDomains(csv);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toContain(message);
  });

  test('baseDomainsOf parses a value once and throws, with the reasons, on one with a refused entry', () => {
    const config = baseDomainsOf('app.example.com=gui,example.com');
    expect(baseDomainsOf('app.example.com=gui,example.com')).toBe(config);
    expect(() => baseDomainsOf('app.example.com=Bad_Service')).toThrow(
      'BASE_DOMAINS entry "app.example.com=Bad_Service": service "Bad_Service" is not a DNS label',
    );
  });
});

describe('matchHost', () => {
  const config = {
    controlHost: 'control.gw.example.com',
    baseDomains: parseBaseDomains('example.com,gw.example.com,localhost').byLength,
  };

  function tenant(
    host: string,
    label: { slug: string; instance: string | null } | null,
    service = 'default',
  ): HostMatch {
    return { kind: 'tenant', host, label, service };
  }

  test('the control host', () => {
    expect(matchHost('control.gw.example.com', config)).toEqual({ kind: 'control' });
  });

  test.each<[string, HostMatch]>([
    ['acme.gw.example.com', tenant('acme.gw.example.com', { slug: 'acme', instance: null })],
    [
      'acme.instance1.gw.example.com',
      tenant('acme.instance1.gw.example.com', { slug: 'acme', instance: 'instance1' }),
    ],
    ['company-x.gw.example.com', tenant('company-x.gw.example.com', { slug: 'companyx', instance: null })],
    [
      'company-x.eu-1.gw.example.com',
      tenant('company-x.eu-1.gw.example.com', { slug: 'companyx', instance: 'eu-1' }),
    ],
    ['demo.instance1.localhost', tenant('demo.instance1.localhost', { slug: 'demo', instance: 'instance1' })],
    ['demo.localhost', tenant('demo.localhost', { slug: 'demo', instance: null })],
    ['xn--bcher-kva.localhost', tenant('xn--bcher-kva.localhost', { slug: 'xnbcherkva', instance: null })],
  ])('%j', (host, expected) => {
    expect(matchHost(host, config)).toEqual(expected);
  });

  test('the most specific base wins, even when a shorter one would also match', () => {
    // Under example.com this would read as tenant `acme` on instance `gw`.
    expect(matchHost('acme.gw.example.com', config)).toEqual(
      tenant('acme.gw.example.com', { slug: 'acme', instance: null }),
    );
    // A name under example.com but not under gw.example.com uses example.com.
    expect(matchHost('acme.eu.example.com', config)).toEqual(
      tenant('acme.eu.example.com', { slug: 'acme', instance: 'eu' }),
    );
  });

  test('a base that is a suffix of another host without a dot does not match', () => {
    expect(matchHost('notexample.com', config)).toEqual(tenant('notexample.com', null));
    expect(matchHost('acme.mygw.example.com', config)).toEqual(
      tenant('acme.mygw.example.com', { slug: 'acme', instance: 'mygw' }),
    );
  });

  test('a service base domain gives its service; nested in another, the longest wins', () => {
    const services = {
      controlHost: 'control.example.com',
      baseDomains: parseBaseDomains('app.example.com=gui,api.example.com=api,example.com').byLength,
    };
    expect(matchHost('acme.instance1.app.example.com', services)).toEqual(
      tenant('acme.instance1.app.example.com', { slug: 'acme', instance: 'instance1' }, 'gui'),
    );
    expect(matchHost('acme.api.example.com', services)).toEqual(
      tenant('acme.api.example.com', { slug: 'acme', instance: null }, 'api'),
    );
    // Not tenant `acme` on an instance `app` of example.com: the longer base domain is matched first.
    expect(matchHost('acme.app.example.com', services)).toEqual(
      tenant('acme.app.example.com', { slug: 'acme', instance: null }, 'gui'),
    );
    expect(matchHost('acme.instance1.example.com', services)).toEqual(
      tenant('acme.instance1.example.com', { slug: 'acme', instance: 'instance1' }),
    );
    expect(matchHost('api.acme.com', services)).toEqual(tenant('api.acme.com', null));
  });

  test.each([
    ['a base domain itself', 'gw.example.com'],
    ['the shorter base domain itself', 'example.com'],
    ['localhost', 'localhost'],
    ['deeper name', 'a.b.acme.instance1.gw.example.com'],
    ['three labels', 'b.acme.instance1.gw.example.com'],
    ['custom domain', 'api.acme.com'],
    ['unrelated single label', 'intranet'],
    ['IPv4', '127.0.0.1'],
    ['IPv6', '[::1]'],
  ])('%s has no label', (_name, host) => {
    expect(matchHost(host, config)).toEqual(tenant(host, null));
  });

  test('a deeper name under the longer base does not fall back to the shorter base', () => {
    expect(matchHost('x.acme.eu.gw.example.com', config).kind).toBe('tenant');
    expect(matchHost('x.acme.eu.gw.example.com', config)).toMatchObject({ label: null });
  });

  test('a label that reduces to nothing or is too long for a slug gives no label', () => {
    const bare = {
      controlHost: 'control.localhost',
      baseDomains: [{ domain: 'localhost', service: 'default' }],
    };
    expect(matchHost('-.localhost', bare)).toEqual(tenant('-.localhost', null));
    expect(matchHost('.localhost', bare)).toEqual(tenant('.localhost', null));
    expect(matchHost('a..localhost', bare)).toEqual(tenant('a..localhost', null));
    expect(matchHost(`${'a'.repeat(63)}.localhost`, bare)).toEqual(
      tenant(`${'a'.repeat(63)}.localhost`, null),
    );
    expect(matchHost(`${'a'.repeat(62)}.localhost`, bare)).toEqual(
      tenant(`${'a'.repeat(62)}.localhost`, { slug: 'a'.repeat(62), instance: null }),
    );
  });

  test('the control host wins even under a base domain', () => {
    expect(
      matchHost('control.localhost', {
        controlHost: 'control.localhost',
        baseDomains: [{ domain: 'localhost', service: 'default' }],
      }),
    ).toEqual({ kind: 'control' });
  });

  test('no base domains: every non-control host is a tenant host without a label', () => {
    expect(matchHost('acme.localhost', { controlHost: 'control.localhost', baseDomains: [] })).toEqual(
      tenant('acme.localhost', null),
    );
  });
});

describe('defaultBaseDomain', () => {
  test("the first base domain of the default service, though a service's is listed first", () => {
    const { listed } = parseBaseDomains('app.localhost=gui,api.localhost=api,localhost,gw.example.com');
    expect(defaultBaseDomain(listed)).toEqual({ domain: 'localhost', service: 'default' });
  });

  test('without one of the default service, the first of all; none for an empty list', () => {
    expect(defaultBaseDomain(parseBaseDomains('app.localhost=gui,api.localhost=api').listed)?.domain).toBe(
      'app.localhost',
    );
    expect(defaultBaseDomain([])).toBeUndefined();
  });
});
