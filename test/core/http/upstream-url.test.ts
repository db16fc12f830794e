import { describe, expect, test } from 'vitest';
import { checkHooksUrl, checkUpstreamUrl, isPrivateAddress } from '../../../src/core/http/upstream-url';

const strict = { allowPrivate: false };
const relaxed = { allowPrivate: true };

function message(raw: string, opts = strict): string {
  const result = checkUpstreamUrl(raw, opts);
  if (result.ok) throw new Error(`expected ${raw} to be refused`);
  return result.message;
}

describe('checkUpstreamUrl: accepted and normalised', () => {
  test.each([
    ['https://api.example.com/v1', 'https://api.example.com/v1'],
    ['https://api.example.com/v1/', 'https://api.example.com/v1'],
    ['https://a.example/api/', 'https://a.example/api'],
    ['https://a.example/', 'https://a.example'],
    ['https://a.example', 'https://a.example'],
    ['https://a.example//', 'https://a.example'],
    ['http://93.184.216.34', 'http://93.184.216.34'],
    ['http://93.184.216.34:8080/', 'http://93.184.216.34:8080'],
    ['HTTPS://API.Example.COM:443/V1', 'https://api.example.com/V1'],
    ['http://example.com:80/', 'http://example.com'],
    ['https://example.com:8443/base', 'https://example.com:8443/base'],
    ['https://bücher.example/', 'https://xn--bcher-kva.example'],
    ['https://example.com/a/../b/', 'https://example.com/b'],
    ['https://example.com/a%20b/', 'https://example.com/a%20b'],
    ['  https://example.com/api  ', 'https://example.com/api'],
    ['http://[2606:4700:4700::1111]/', 'http://[2606:4700:4700::1111]'],
    ['http://8.8.8.8', 'http://8.8.8.8'],
    ['http://172.15.255.255', 'http://172.15.255.255'],
    ['http://172.32.0.1', 'http://172.32.0.1'],
    ['http://100.63.255.255', 'http://100.63.255.255'],
    ['http://100.128.0.1', 'http://100.128.0.1'],
    ['http://169.253.1.1', 'http://169.253.1.1'],
    ['http://192.169.0.1', 'http://192.169.0.1'],
    ['http://11.0.0.1', 'http://11.0.0.1'],
    ['http://[::ffff:808:808]', 'http://[::ffff:808:808]'],
    ['https://local.example.com', 'https://local.example.com'],
    ['https://internal.example.com', 'https://internal.example.com'],
    ['https://localhost.example.com', 'https://localhost.example.com'],
  ])('%j → %j', (raw, url) => {
    expect(checkUpstreamUrl(raw, strict)).toEqual({ ok: true, url });
  });

  test('a hooks URL with a path is accepted by the same rules', () => {
    expect(checkHooksUrl('https://hooks.example.com/gateway/events/', strict)).toEqual({
      ok: true,
      url: 'https://hooks.example.com/gateway/events',
    });
  });
});

describe('checkUpstreamUrl: refused shapes', () => {
  test.each([
    ['empty', '', 'required'],
    ['blank', '   ', 'required'],
    ['relative', '/api', 'http://'],
    ['no scheme', 'example.com', 'http://'],
    ['ftp', 'ftp://example.com', 'http://'],
    ['file', 'file:///etc/passwd', 'http://'],
    ['javascript', 'javascript:alert(1)', 'http://'],
    ['ws', 'ws://example.com', 'http://'],
    ['scheme without slashes', 'http:example.com', 'http://'],
    ['one slash', 'http:/example.com', 'http://'],
    ['no host', 'http://', 'host'],
    ['three slashes', 'http:///example.com', 'host'],
    ['user and password', 'http://user:pw@example.com', 'user name or password'],
    ['user only', 'https://user@example.com/', 'user name or password'],
    ['empty user info', 'http://@example.com', 'user name or password'],
    ['password only', 'http://:pw@example.com', 'user name or password'],
    ['fragment', 'https://example.com/api#x', 'fragment'],
    ['bare trailing #', 'https://example.com#', 'fragment'],
    ['query', 'https://example.com/api?a=1', 'query'],
    ['bare trailing ?', 'https://example.com/?', 'query'],
    ['inner space in host', 'http://exa mple.com', 'whitespace'],
    ['inner space in path', 'https://example.com/a b', 'whitespace'],
    ['tab', 'http://exa\tmple.com', 'whitespace'],
    ['newline', 'http://example.com/\napi', 'whitespace'],
    ['backslash', 'http:\\\\example.com', 'backslash'],
    ['backslash in path', 'http://example.com\\@127.0.0.1', 'backslash'],
    ['bad port', 'http://example.com:99999', 'not valid'],
    ['non-numeric port', 'http://example.com:http', 'not valid'],
    ['underscore host', 'http://a_b.example.com', 'host'],
    ['empty label', 'http://a..example.com', 'host'],
    ['leading hyphen', 'http://-a.example.com', 'host'],
    ['invalid IPv4', 'http://256.0.0.1', 'not valid'],
    ['IPv6 zone id', 'http://[fe80::1%25eth0]/', 'not valid'],
    ['too long', `https://example.com/${'a'.repeat(2100)}`, 'at most'],
  ])('%s', (_name, raw, expected) => {
    expect(message(raw, relaxed)).toContain(expected);
  });

  test('a message never repeats the URL or its secret parts', () => {
    for (const raw of [
      'http://admin:hunter2@example.com',
      'https://example.com/x?token=s3cret',
      'http://10.0.0.1/',
    ]) {
      const text = message(raw);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('example.com');
      expect(text).not.toContain('10.0.0.1');
    }
  });
});

describe('checkUpstreamUrl: private addresses', () => {
  const privateUrls = [
    // IPv4 ranges
    'http://0.0.0.0',
    'http://0.1.2.3',
    'http://0/',
    'http://10.0.0.1',
    'http://10.255.255.255',
    'http://100.64.0.1',
    'http://100.127.255.255',
    'http://100.100.100.200/latest/meta-data',
    'http://127.0.0.1',
    'http://127.0.0.1:8787/api',
    'http://127.255.255.254',
    'http://169.254.169.254/latest/meta-data/',
    'http://172.16.0.1',
    'http://172.31.255.255',
    'http://192.168.0.1',
    'http://192.168.255.255',
    'http://255.255.255.255',
    'http://224.0.0.1',
    'http://240.0.0.1',
    // Other spellings of 127.0.0.1 the URL parser rewrites
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0x7f.0.0.1/',
    'http://127.0.0.%31/',
    'http://①②⑦.0.0.1/',
    'http://127.0.0.1./',
    'http://0xa9.0xfe.0xa9.0xfe/',
    // IPv6
    'http://[::]/',
    'http://[::1]/',
    'http://[::1]:8080/api',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[fc00::1]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://[febf::1]/',
    'http://[fec0::1]/',
    'http://[ff02::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://[2002:7f00:1::]/',
    // Names
    'http://localhost',
    'http://localhost:8787/',
    'http://LOCALHOST./',
    'http://demo.localhost/',
    'http://a.b.localhost/',
    'http://metadata/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://db.internal/',
    'http://printer.local/',
  ];

  test.each(privateUrls)('%s is refused', (raw) => {
    expect(message(raw)).toBe('URL must not point to a loopback, private, link-local or internal address');
  });

  test.each(privateUrls)('%s is allowed with allowPrivate', (raw) => {
    expect(checkUpstreamUrl(raw, relaxed).ok).toBe(true);
  });

  test('allowPrivate still normalises', () => {
    expect(checkUpstreamUrl('http://2130706433:8787/api/', relaxed)).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8787/api',
    });
    expect(checkUpstreamUrl('http://[::1]:8787/', relaxed)).toEqual({ ok: true, url: 'http://[::1]:8787' });
  });

  test('allowPrivate does not relax the other rules', () => {
    expect(message('http://user:pw@127.0.0.1', relaxed)).toContain('user name or password');
  });
});

describe('isPrivateAddress', () => {
  test.each([
    '127.0.0.1',
    '127.1',
    '2130706433',
    '10.1.2.3',
    '[::1]',
    '::1',
    '::ffff:127.0.0.1',
    '[::ffff:7f00:1]',
    'FE80::1',
    'fd12:3456::1',
    'localhost',
    'LocalHost.',
    'x.localhost',
    'metadata',
    'metadata.google.internal',
    'anything.internal',
    'nas.local',
    'weird_name.internal',
  ])('%j is private', (host) => {
    expect(isPrivateAddress(host)).toBe(true);
  });

  test.each([
    'example.com',
    'api.example.com',
    '93.184.216.34',
    '1.1.1.1',
    '172.32.0.1',
    '[2606:4700::1111]',
    '2001:db8::1',
    '[::ffff:808:808]',
    '[64:ff9b::808:808]',
    '[2002:808:808::]',
    'localhost.example.com',
    'internal.example.com',
    'local',
    '',
  ])('%j is not', (host) => {
    expect(isPrivateAddress(host)).toBe(false);
  });
});
