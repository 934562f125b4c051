import { checkProviderUrls, isForbiddenAddress } from '../../api/integrations/provider-urls.js';

describe('custom provider URLs', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::',
    '::1',
    'fe80::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:a00:1',
  ])('refuses the address %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])(
    'accepts the public address %s',
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );

  it('requires https, refuses hosts resolving to a forbidden address (any of their answers) and names the field', async () => {
    const lookup = async (host: string) =>
      host === 'mixed.example'
        ? [
            { address: '93.184.215.14', family: 4 },
            { address: '10.0.0.7', family: 4 },
          ]
        : host === 'public.example'
          ? [{ address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }]
          : Promise.reject(new Error('ENOTFOUND'));
    const problems = await checkProviderUrls(
      {
        tokenEndpoint: 'http://public.example/token',
        authorizationEndpoint: 'https://mixed.example/authorize',
        revocationEndpoint: 'https://[::1]:8443/revoke',
        issuer: 'https://nowhere.example',
        apiBaseUrl: 'https://public.example/api',
        userinfo: 'https://user:pass@public.example/',
        absent: undefined,
      },
      { allowInsecure: false, lookup },
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      'authorizationEndpoint',
      'issuer',
      'revocationEndpoint',
      'tokenEndpoint',
      'userinfo',
    ]);
    expect(problems.find((problem) => problem.path === 'tokenEndpoint')?.message).toBe(
      'must be an https URL',
    );
  });

  it('resolves real host names: localhost is loopback', async () => {
    const problems = await checkProviderUrls(
      { tokenEndpoint: 'https://localhost/token' },
      { allowInsecure: false },
    );
    expect(problems).toEqual([{ path: 'tokenEndpoint', message: expect.stringMatching(/loopback/) }]);
  });

  it('allows http and loopback when insecure provider URLs are allowed, still not other schemes', async () => {
    expect(
      await checkProviderUrls(
        { tokenEndpoint: 'http://127.0.0.1:4000/token', apiBaseUrl: 'https://localhost' },
        { allowInsecure: true },
      ),
    ).toEqual([]);
    expect(
      await checkProviderUrls({ tokenEndpoint: 'ftp://127.0.0.1/token' }, { allowInsecure: true }),
    ).toHaveLength(1);
  });
});
