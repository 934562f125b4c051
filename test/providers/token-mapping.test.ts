// The token-response mapping, read as providers answer: nested fields (Slack's user token under
// `authed_user`), a `bot` token type meaning bearer, a null refresh token (Notion), errors at HTTP 200
// (`ok: false`), comma-separated scopes, no `expires_in` (Salesforce: the catalogue's default lifetime),
// refresh-token lifetimes, and an id_token whose issuer is per tenant (Microsoft). Answers are built as
// fetch Responses, read by the same function the code exchange and refresh use.
import { SignJWT } from 'jose';
import { oauthProviderSchema, type ProviderConfigInput } from '../../providers/provider-config.js';
import { ProviderError } from '../../providers/provider-error.js';
import { ANSWER_LIMIT_BYTES } from '../../providers/response-body.js';
import { readTokenResponse } from '../../providers/token-response.js';

const base = {
  authType: 'oauth2',
  issuer: 'https://idp.example',
  authorizationEndpoint: 'https://idp.example/authorize',
  tokenEndpoint: 'https://idp.example/token',
} as const;

const provider = (more: Partial<Extract<ProviderConfigInput, { authType: 'oauth2' }>> = {}) =>
  oauthProviderSchema.parse({ ...base, ...more });

const answer = (body: unknown, status = 200) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });

const read = (body: unknown, config = provider(), status = 200) =>
  readTokenResponse('code exchange', answer(body, status), config, 'client-1');

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
};

const idToken = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('k'.repeat(32)));

describe('token responses read through the mapping', () => {
  it('reads nested fields, a bot token type as bearer, and comma-separated scopes', async () => {
    const slack = provider({
      tokenResponse: {
        accessToken: 'authed_user.access_token',
        tokenType: 'authed_user.token_type',
        scope: 'authed_user.scope',
        bearerTokenTypes: ['bot', 'user'],
        okField: 'ok',
      },
    });
    const tokens = await read(
      {
        ok: true,
        access_token: 'xoxb-bot',
        token_type: 'bot',
        authed_user: { access_token: 'xoxp-user', token_type: 'User', scope: 'search:read,chat:write' },
        team: { id: 'T1' },
      },
      slack,
    );
    expect(tokens).toMatchObject({ accessToken: 'xoxp-user', tokenType: 'bearer' });
    expect(tokens.scopes).toEqual(['search:read', 'chat:write']);
    // The parsed answer is there to read, and never in what is serialised.
    expect(tokens.read('team.id')).toBe('T1');
    expect(JSON.stringify(tokens)).not.toContain('T1');
    expect(Object.keys(tokens)).not.toContain('read');
  });

  it('refuses a token type outside the bearer types, and one missing unless it may be', async () => {
    const refused = await refusal(read({ access_token: 'at', token_type: 'mac' }));
    expect(refused.message).toBe('code exchange: unexpected provider response (unsupported token type)');
    const missing = await refusal(read({ access_token: 'at' }));
    expect(missing.message).toBe('code exchange: unexpected provider response (no token type)');
    const optional = provider({ tokenResponse: { tokenTypeOptional: true } });
    expect((await read({ access_token: 'at' }, optional)).tokenType).toBe('bearer');
  });

  it('takes a null refresh token as none, and scopes separated by spaces and commas', async () => {
    const tokens = await read({
      access_token: 'at',
      token_type: 'bearer',
      refresh_token: null,
      scope: 'a b,c , d',
    });
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.scopes).toEqual(['a', 'b', 'c', 'd']);
  });

  it('classifies an error reported at HTTP 200 by the ok field like an RFC 6749 error', async () => {
    const slack = provider({ tokenResponse: { okField: 'ok' } });
    const grant = await refusal(read({ ok: false, error: 'invalid_grant' }, slack));
    expect(grant.kind).toBe('invalid_grant');
    const other = await refusal(read({ ok: false, error: 'invalid_client_id', access_token: 'x' }, slack));
    expect(other).toMatchObject({
      kind: 'rejected',
      message: 'code exchange: the provider refused (invalid_client_id)',
    });
    const standard = await refusal(
      read({ error: 'invalid_grant', error_description: 'rt-1' }, provider(), 400),
    );
    expect(standard).toMatchObject({ kind: 'invalid_grant', status: 400 });
    expect(standard.message).not.toContain('rt-1');
  });

  it('gives the default access lifetime where expires_in is absent, and none without a default', async () => {
    const salesforce = provider({ defaultAccessLifetimeSeconds: 7200 });
    const tokens = await read(
      { access_token: 'at', token_type: 'Bearer', instance_url: 'https://x' },
      salesforce,
    );
    expect(tokens.expiresAt! - tokens.obtainedAt).toBe(7_200_000);
    expect((await read({ access_token: 'at', token_type: 'Bearer' })).expiresAt).toBeUndefined();
  });

  it('reads an absolute expiry, and expires_in 0 as never where the provider means that', async () => {
    const absolute = provider({ tokenResponse: { expiresAt: 'expires_at' } });
    const at = Math.floor(Date.now() / 1000) + 600;
    const tokens = await read({ access_token: 'at', token_type: 'bearer', expires_at: at }, absolute);
    expect(Math.abs(tokens.expiresAt! - at * 1000)).toBeLessThan(2000);
    const never = provider({ tokenResponse: { zeroExpiresInMeansNever: true } });
    expect(
      (await read({ access_token: 'at', token_type: 'bearer', expires_in: 0 }, never)).expiresAt,
    ).toBeUndefined();
  });

  it("dates the refresh token's lapse from the answer, or from its documented lifetime", async () => {
    const said = provider({ tokenResponse: { refreshTokenExpiresIn: 'refresh_token_expires_in' } });
    const fromAnswer = await read(
      { access_token: 'at', token_type: 'bearer', refresh_token: 'rt', refresh_token_expires_in: 86_400 },
      said,
    );
    expect(fromAnswer.refreshTokenExpiresAt! - fromAnswer.obtainedAt).toBe(86_400_000);

    const fixed = provider({ refreshTokenLifetime: { seconds: 7_776_000, kind: 'fixed' } });
    const issued = await read({ access_token: 'at', token_type: 'bearer', refresh_token: 'rt' }, fixed);
    expect(issued.refreshTokenExpiresAt! - issued.obtainedAt).toBe(7_776_000_000);
    // A fixed lifetime is not renewed by a refresh that issues no new refresh token…
    expect(
      (await read({ access_token: 'at', token_type: 'bearer' }, fixed)).refreshTokenExpiresAt,
    ).toBeUndefined();
    // …an idle one is.
    const idle = provider({ refreshTokenLifetime: { seconds: 7_776_000, kind: 'idle' } });
    const renewed = await read({ access_token: 'at', token_type: 'bearer' }, idle);
    expect(renewed.refreshTokenExpiresAt! - renewed.obtainedAt).toBe(7_776_000_000);
  });

  it("accepts an id_token for this client from the tenant's issuer, and refuses another", async () => {
    const microsoft = provider({
      issuer: 'https://login.microsoftonline.com/common/v2.0',
      tokenResponse: { idTokenIssuer: 'https://login.microsoftonline.com/{tid}/v2.0' },
    });
    const tid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const good = await idToken({
      iss: `https://login.microsoftonline.com/${tid}/v2.0`,
      aud: 'client-1',
      tid,
    });
    await expect(
      read({ access_token: 'at', token_type: 'Bearer', id_token: good }, microsoft),
    ).resolves.toBeDefined();

    const otherTenant = await idToken({
      iss: 'https://login.microsoftonline.com/other/v2.0',
      aud: 'client-1',
      tid,
    });
    const refused = await refusal(
      read({ access_token: 'at', token_type: 'Bearer', id_token: otherTenant }, microsoft),
    );
    expect(refused).toMatchObject({
      kind: 'rejected',
      message: "code exchange: the id_token's issuer does not match",
    });

    const otherClient = await idToken({ iss: 'https://idp.example', aud: ['client-2'] });
    const audience = await refusal(read({ access_token: 'at', token_type: 'Bearer', id_token: otherClient }));
    expect(audience.message).toBe("code exchange: the id_token's audience does not match");
    const own = await idToken({ iss: 'https://idp.example', aud: ['client-2', 'client-1'] });
    await expect(read({ access_token: 'at', token_type: 'Bearer', id_token: own })).resolves.toBeDefined();
  });

  it('refuses an answer that is not JSON, or too large, without repeating it', async () => {
    const html = await refusal(read('<html>at-secret</html>'));
    expect(html.message).toBe('code exchange: unexpected provider response (not a JSON object)');
    const huge = await refusal(read({ access_token: 'a'.repeat(ANSWER_LIMIT_BYTES), token_type: 'bearer' }));
    expect(huge.message).toBe("code exchange: the provider's answer is too large");
  });
});
