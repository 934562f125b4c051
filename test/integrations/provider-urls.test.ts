// The address classification (an allow-list: globally routable unicast only) and the registration check
// of custom provider URLs, which goes through the outbound guard's own check. Host names resolve through a
// fake DNS (a deliberately injected resolver) except where the test says it resolves real names.
import { checkProviderUrls } from '../../integrations/provider-urls.js';
import { createOutboundGuard, type Resolver } from '../../providers/outbound-guard.js';
import { classifyAddress } from '../../providers/public-address.js';

describe('the address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'special-purpose'],
    ['192.0.0.9', 'special-purpose'],
    ['192.0.2.1', 'special-purpose'],
    ['198.18.0.1', 'special-purpose'],
    ['198.51.100.7', 'special-purpose'],
    ['203.0.113.9', 'special-purpose'],
    ['192.88.99.1', 'special-purpose'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    // IPv4-mapped: judged by the IPv4 address, in either notation.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a00:1', 'private'],
    ['[::ffff:7f00:1]', 'loopback'],
    // IPv4-compatible (deprecated); ipaddr.js reads the dotted form as IPv4-mapped, refused either way.
    ['::7f00:1', 'IPv6 transition (IPv4-compatible)'],
    ['::808:808', 'IPv6 transition (IPv4-compatible)'],
    ['::127.0.0.1', 'loopback'],
    // 6to4 and Teredo embed an IPv4 address the service cannot trust: refused whatever it is.
    ['2002::1', 'IPv6 transition (6to4)'],
    ['2002:7f00:1::1', 'IPv6 transition (6to4)'],
    ['2002:808:808::1', 'IPv6 transition (6to4)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'IPv6 transition (Teredo)'],
    // NAT64: the well-known prefix is judged by its IPv4 address; the local-use prefix is refused.
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b:1::1', 'IPv6 transition (local-use NAT64)'],
    ['64:ff9b:1::808:808', 'IPv6 transition (local-use NAT64)'],
    ['::ffff:0:7f00:1', 'IPv6 transition (IPv4-translated)'],
    ['100::1', 'special-purpose'],
    ['2001:db8::1', 'special-purpose'],
    ['2001:2::1', 'special-purpose'],
    ['2620:4f:8000::1', 'special-purpose'],
    ['3fff::1', 'special-purpose'],
    ['5f00::1', 'special-purpose'],
    ['4000::1', 'special-purpose'],
    ['127.1', 'not an IP address'],
    ['0x7f000001', 'not an IP address'],
    ['localhost', 'not an IP address'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(classifyAddress(address)).toEqual({ public: false, kind });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '93.184.215.14',
    '2001:4860:4860::8888',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('accepts the public address %s', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true });
  });
});

describe('custom provider URLs at registration', () => {
  /** A fake DNS, deliberately injected: answers for the names of this test only. */
  const fakeDns: Resolver = async (host) => {
    const answers: Record<string, Array<{ address: string; family: number }>> = {
      'mixed.example': [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      'public.example': [{ address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }],
      'mapped.example': [{ address: '::7f00:1', family: 6 }],
      'sixtofour.example': [{ address: '2002:7f00:1::1', family: 6 }],
      'nat64.example': [{ address: '64:ff9b:1::a00:1', family: 6 }],
    };
    const answer = answers[host];
    if (!answer) throw new Error('ENOTFOUND');
    return answer;
  };
  const outbound = createOutboundGuard({ checkAddresses: true, resolver: fakeDns });
  afterAll(() => outbound.close());

  it('requires https, refuses hosts leading to a refused address (any of their answers) and names the field', async () => {
    const problems = await checkProviderUrls(
      {
        tokenEndpoint: 'http://public.example/token',
        authorizationEndpoint: 'https://mixed.example/authorize',
        revocationEndpoint: 'https://[::1]:8443/revoke',
        issuer: 'https://nowhere.example',
        apiBaseUrl: 'https://public.example/api',
        userinfo: 'https://user:pass@public.example/',
        mapped: 'https://mapped.example/',
        sixToFour: 'https://sixtofour.example/',
        nat64: 'https://nat64.example/',
        literal: 'https://[::7f00:1]/',
        absent: undefined,
      },
      { allowInsecure: false, outbound },
    );
    expect(Object.fromEntries(problems.map((problem) => [problem.path, problem.message]))).toEqual({
      tokenEndpoint: 'must be an https URL',
      authorizationEndpoint: 'its host mixed.example leads to a non-public address (private)',
      revocationEndpoint: 'its host ::1 leads to a non-public address (loopback)',
      issuer: 'its host nowhere.example does not resolve',
      userinfo: 'must not contain credentials',
      mapped: 'its host mapped.example leads to a non-public address (IPv6 transition (IPv4-compatible))',
      sixToFour: 'its host sixtofour.example leads to a non-public address (IPv6 transition (6to4))',
      nat64: 'its host nat64.example leads to a non-public address (IPv6 transition (local-use NAT64))',
      literal: 'its host ::7f00:1 leads to a non-public address (IPv6 transition (IPv4-compatible))',
    });
  });

  it('resolves real host names: localhost is loopback', async () => {
    const system = createOutboundGuard({ checkAddresses: true });
    try {
      const problems = await checkProviderUrls(
        { tokenEndpoint: 'https://localhost/token' },
        { allowInsecure: false, outbound: system },
      );
      expect(problems).toEqual([{ path: 'tokenEndpoint', message: expect.stringMatching(/loopback/) }]);
    } finally {
      await system.close();
    }
  });

  it('allows http and loopback when insecure provider URLs are allowed, still not other schemes', async () => {
    const insecure = createOutboundGuard({ checkAddresses: false, resolver: fakeDns });
    try {
      expect(
        await checkProviderUrls(
          { tokenEndpoint: 'http://127.0.0.1:4000/token', apiBaseUrl: 'https://localhost' },
          { allowInsecure: true, outbound: insecure },
        ),
      ).toEqual([]);
      expect(
        await checkProviderUrls(
          { tokenEndpoint: 'ftp://127.0.0.1/token' },
          { allowInsecure: true, outbound: insecure },
        ),
      ).toHaveLength(1);
    } finally {
      await insecure.close();
    }
  });
});
