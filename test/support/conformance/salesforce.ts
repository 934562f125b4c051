// A Salesforce-like stand-in, answering as Salesforce documents the web-server flow
// (help.salesforce.com remoteaccess_oauth_web_server_flow, remoteaccess_using_openid / userinfo, and
// remoteaccess_revoke_token): authorize at /services/oauth2/authorize; POST /services/oauth2/token answering
// access_token, refresh_token (with the `refresh_token` scope; none on a refresh), signature, scope,
// instance_url (where the org's API lives: this stand-in), id (the identity URL …/id/{orgId}/{userId}),
// token_type "Bearer" and issued_at in epoch milliseconds, and NO expires_in: the session lasts the org's
// timeout, which the answer never says. Errors are 400 `{error, error_description}`. GET
// /services/oauth2/userinfo answers the OpenID Connect userinfo; POST /services/oauth2/revoke takes
// `token=` in a form (RFC 7009), answering 200, or 400 `unsupported_token_type` / `invalid_token`.
import { createHmac, randomBytes } from 'node:crypto';
import type { Response } from 'express';
import {
  clientAuthentication,
  readForm,
  recordedOf,
  signedInAs,
  startStandIn,
  type Grant,
} from './stand-in-server.js';

export interface SalesforceAccount {
  login: string;
  orgId: string;
  userId: string;
  username: string;
  name: string;
}

export async function startSalesforceStandIn(options: {
  accounts: SalesforceAccount[];
  /** The instance URL answered, from the stand-in's origin; by default the origin itself (where it serves). */
  instanceUrl?: (origin: string) => string;
}) {
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));

  return startStandIn<SalesforceAccount, { identityUrl(account: SalesforceAccount): string }>(
    (app, core, book) => {
      const identityUrl = (account: SalesforceAccount) =>
        `${core.origin}/id/${account.orgId}/${account.userId}`;
      const fail = (res: Response, status: number, error: string, description: string) =>
        res.status(status).json({ error, error_description: description });

      const tokenAnswer = (grant: Grant<SalesforceAccount>, withRefreshToken: boolean) => {
        const issuedAt = String(Date.now());
        const id = identityUrl(grant.account);
        const scopes = grant.scope.split(' ').filter(Boolean);
        return {
          access_token: book.issueAccessToken(grant, `${grant.account.orgId}!AR`),
          ...(withRefreshToken && scopes.includes('refresh_token')
            ? { refresh_token: book.issueRefreshToken(grant, '5Aep861') }
            : {}),
          signature: createHmac('sha256', core.clientSecret)
            .update(id + issuedAt)
            .digest('base64'),
          scope: scopes.join(' '),
          instance_url: options.instanceUrl ? options.instanceUrl(core.origin) : core.origin,
          id,
          token_type: 'Bearer',
          issued_at: issuedAt,
        };
      };

      app.get('/services/oauth2/authorize', (req, res) => {
        const query = recordedOf(req).query;
        const account = byLogin.get(signedInAs(req) ?? '');
        if (query.client_id !== core.clientId || query.response_type !== 'code' || !account) {
          res.status(400).send('error=invalid_client_id&error_description=client%20identifier%20invalid');
          return;
        }
        const code = book.issueCode({
          account,
          clientId: core.clientId,
          scope: query.scope ?? 'api refresh_token',
          redirectUri: query.redirect_uri ?? '',
          codeChallenge: query.code_challenge,
          context: {},
        });
        const redirect = new URL(query.redirect_uri!);
        redirect.searchParams.set('code', code);
        if (query.state !== undefined) redirect.searchParams.set('state', query.state);
        res.redirect(302, redirect.toString());
      });

      app.post('/services/oauth2/token', (req, res) => {
        const recorded = recordedOf(req);
        const body = readForm(recorded);
        const client = clientAuthentication(recorded);
        if (client.clientId !== core.clientId) {
          fail(res, 400, 'invalid_client_id', 'client identifier invalid');
          return;
        }
        if (client.clientSecret !== core.clientSecret) {
          fail(res, 400, 'invalid_client', 'invalid client credentials');
          return;
        }
        if (body.grant_type === 'authorization_code') {
          const grant = book.redeemCode(body.code, {
            clientId: core.clientId,
            redirectUri: body.redirect_uri ?? '',
            codeVerifier: body.code_verifier,
          });
          if (!grant) {
            fail(res, 400, 'invalid_grant', 'invalid authorization code');
            return;
          }
          res.json(tokenAnswer(grant, true));
          return;
        }
        if (body.grant_type === 'refresh_token') {
          const grant = book.refreshGrant(body.refresh_token);
          if (!grant) {
            fail(res, 400, 'invalid_grant', 'expired access/refresh token');
            return;
          }
          res.json(tokenAnswer(grant, false));
          return;
        }
        fail(res, 400, 'unsupported_grant_type', 'grant type not supported');
      });

      app.post('/services/oauth2/revoke', (req, res) => {
        const token = readForm(recordedOf(req)).token;
        if (!token) {
          fail(res, 400, 'unsupported_token_type', 'Token type not supported');
          return;
        }
        if (!book.revokeGrantOf(token)) {
          fail(res, 400, 'invalid_token', 'Token was invalid');
          return;
        }
        res.status(200).end();
      });

      app.get('/services/oauth2/userinfo', (req, res) => {
        const grant = book.accessGrant(req.headers.authorization);
        if (!grant) {
          res.status(403).type('text/plain').send('Bad_OAuth_Token');
          return;
        }
        const { account } = grant;
        res.json({
          sub: identityUrl(account),
          user_id: account.userId,
          organization_id: account.orgId,
          preferred_username: account.username,
          nickname: account.username.split('@')[0],
          name: account.name,
          email: account.username,
          email_verified: true,
          user_type: 'STANDARD',
          active: true,
          urls: { rest: `${core.origin}/services/data/v{version}/` },
          updated_at: new Date().toISOString(),
        });
      });
      return { identityUrl };
    },
  );
}

/** An org id or user id as Salesforce shapes them (15 characters, with its key prefix). */
export function salesforceId(prefix: '00D' | '005'): string {
  return prefix + randomBytes(9).toString('base64url').replace(/[-_]/g, 'A').slice(0, 12);
}
