// A Microsoft-identity-platform-like stand-in, answering as the v2.0 endpoints document
// (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow, id-token-claims-reference, and
// Graph's GET /v1.0/me): authorize and token under /{tenant}/oauth2/v2.0/, where {tenant} is common,
// organizations, consumers or the tenant's id; a token answer with token_type "Bearer", expires_in and
// ext_expires_in, a refresh token with offline_access, and with openid an id_token signed RS256 whose `iss`
// is the USER's tenant (`<origin>/{tid}/v2.0`), never "common", and whose `aud` is the client id. Every
// refresh answers a new refresh token (and a new id_token). Errors are 400/401 JSON with error,
// error_description (AADSTS…), error_codes, timestamp, trace_id and correlation_id.
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import {
  clientAuthentication,
  readForm,
  recordedOf,
  signedInAs,
  startStandIn,
  type Grant,
} from './stand-in-server.js';

export interface MicrosoftAccount {
  login: string;
  /** The user's object id (Graph `id`, id_token `oid`). */
  oid: string;
  /** The user's home tenant (id_token `tid`). */
  tid: string;
  displayName: string;
  userPrincipalName: string;
}

const generalTenants = new Set(['common', 'organizations', 'consumers']);

export async function startMicrosoftStandIn(options: {
  accounts: MicrosoftAccount[];
  accessTokenLifetimeSeconds?: number;
}) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const lifetime = options.accessTokenLifetimeSeconds ?? 3600;
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));

  return startStandIn<MicrosoftAccount, { issuerOf(tid: string): string }>((app, core, book) => {
    const issuerOf = (tid: string) => `${core.origin}/${tid}/v2.0`;
    const fail = (res: Response, status: number, error: string, code: number, description: string) =>
      res.status(status).json({
        error,
        error_description: `AADSTS${code}: ${description}`,
        error_codes: [code],
        timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });

    const idToken = (grant: Grant<MicrosoftAccount>) =>
      new SignJWT({
        ver: '2.0',
        oid: grant.account.oid,
        tid: grant.account.tid,
        name: grant.account.displayName,
        preferred_username: grant.account.userPrincipalName,
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
        .setIssuer(issuerOf(grant.account.tid))
        .setSubject(`pairwise-${grant.account.oid}`)
        .setAudience(grant.clientId)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('1h')
        .sign(privateKey);

    const tokenAnswer = async (grant: Grant<MicrosoftAccount>) => {
      const scopes = grant.scope.split(' ').filter(Boolean);
      return {
        token_type: 'Bearer',
        scope: scopes.filter((s) => s !== 'offline_access').join(' '),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: book.issueAccessToken(grant, 'eyJ0eXAi.'),
        ...(scopes.includes('offline_access')
          ? { refresh_token: book.issueRefreshToken(grant, '0.AAAA') }
          : {}),
        ...(scopes.includes('openid') ? { id_token: await idToken(grant) } : {}),
      };
    };

    app.get('/:tenant/oauth2/v2.0/authorize', (req, res) => {
      const query = recordedOf(req).query;
      const account = byLogin.get(signedInAs(req) ?? '');
      const tenant = req.params.tenant!;
      if (query.client_id !== core.clientId) {
        res.status(400).send(`AADSTS700016: Application with identifier '${query.client_id}' was not found`);
        return;
      }
      if (query.response_type !== 'code' || !query.redirect_uri || !query.scope) {
        res.status(400).send('AADSTS900144: The request body must contain the following parameter');
        return;
      }
      if (!account || (!generalTenants.has(tenant) && tenant !== account.tid)) {
        res.status(400).send('AADSTS50020: User account does not exist in tenant');
        return;
      }
      if (query.code_challenge && query.code_challenge_method !== 'S256') {
        res.status(400).send('AADSTS501491: Invalid code_challenge_method');
        return;
      }
      const code = book.issueCode({
        account,
        clientId: query.client_id,
        scope: query.scope,
        redirectUri: query.redirect_uri,
        codeChallenge: query.code_challenge,
        context: { tenant },
      });
      const redirect = new URL(query.redirect_uri);
      redirect.searchParams.set('code', code);
      if (query.state !== undefined) redirect.searchParams.set('state', query.state);
      redirect.searchParams.set('session_state', randomUUID());
      res.redirect(302, redirect.toString());
    });

    app.post('/:tenant/oauth2/v2.0/token', async (req, res) => {
      const recorded = recordedOf(req);
      if (!recorded.form) {
        fail(
          res,
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'grant_type'.",
        );
        return;
      }
      const body = readForm(recorded);
      const client = clientAuthentication(recorded);
      if (client.clientId !== core.clientId) {
        fail(res, 400, 'unauthorized_client', 700016, 'Application was not found in the directory.');
        return;
      }
      if (client.clientSecret !== core.clientSecret) {
        fail(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
        return;
      }
      if (body.grant_type === 'authorization_code') {
        const grant = book.redeemCode(body.code, {
          clientId: core.clientId,
          redirectUri: body.redirect_uri ?? '',
          codeVerifier: body.code_verifier,
        });
        if (!grant || grant.context.tenant !== req.params.tenant) {
          fail(
            res,
            400,
            'invalid_grant',
            70008,
            'The provided authorization code or refresh token has expired due to inactivity.',
          );
          return;
        }
        res.json(await tokenAnswer(grant));
        return;
      }
      if (body.grant_type === 'refresh_token') {
        const grant = book.refreshGrant(body.refresh_token);
        if (!grant) {
          fail(res, 400, 'invalid_grant', 700082, 'The refresh token has expired due to inactivity.');
          return;
        }
        res.json(await tokenAnswer(grant));
        return;
      }
      fail(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    });

    // The signing keys, as the tenant's discovery document names them (jwks_uri).
    app.get('/:tenant/discovery/v2.0/keys', async (_req, res) => {
      res.json({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' }] });
    });

    app.get('/v1.0/me', (req, res) => {
      const grant = book.accessGrant(req.headers.authorization);
      if (!grant) {
        res.status(401).json({
          error: {
            code: 'InvalidAuthenticationToken',
            message: 'Access token validation failure. Invalid audience.',
            innerError: { date: new Date().toISOString(), 'request-id': randomUUID() },
          },
        });
        return;
      }
      const { account } = grant;
      res.json({
        '@odata.context': `${core.origin}/v1.0/$metadata#users/$entity`,
        businessPhones: [],
        displayName: account.displayName,
        givenName: account.displayName.split(' ')[0],
        jobTitle: null,
        mail: account.userPrincipalName,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: null,
        surname: account.displayName.split(' ').slice(1).join(' ') || null,
        userPrincipalName: account.userPrincipalName,
        id: account.oid,
      });
    });
    return { issuerOf };
  });
}
