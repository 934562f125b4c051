// A GitHub-like stand-in, answering as GitHub documents OAuth apps (docs.github.com
// apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps, troubleshooting-oauth-app-access-token-request-errors,
// rest/apps/oauth-applications#delete-an-app-authorization, rest/users/users#get-the-authenticated-user):
// authorize at /login/oauth/authorize (PKCE S256 accepted); POST /login/oauth/access_token answering JSON only
// when Accept says application/json (form-encoded otherwise), `token_type: "bearer"` and the granted scopes
// comma-separated, no expiry (OAuth apps' tokens do not expire); its errors (bad_verification_code,
// incorrect_client_credentials, redirect_uri_mismatch) come with HTTP 200. The grant is removed with
// DELETE /applications/{client_id}/grant, HTTP Basic client authentication and a JSON body
// `{"access_token": …}`, answering 204 (404 for an unknown token, 401 without client authentication). GET /user
// answers the authenticated user, 401 "Bad credentials" otherwise. As a GitHub App with expiring user tokens
// (apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens), tokens live
// 28800 s with a `ghr_` refresh token of 15897600 s (`refresh_token_expires_in`) that each refresh replaces;
// a spent one answers `bad_refresh_token`.
import type { Request, Response } from 'express';
import {
  clientAuthentication,
  readForm,
  recordedOf,
  signedInAs,
  startStandIn,
  type Grant,
} from './stand-in-server.js';

export interface GitHubAccount {
  login: string;
  id: number;
  name: string;
}

const DOCS = 'https://docs.github.com/rest';

export async function startGitHubStandIn(options: {
  accounts: GitHubAccount[];
  expiringUserTokens?: boolean;
}) {
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));

  return startStandIn<GitHubAccount, object>((app, core, book) => {
    const wantsJson = (req: Request) => (req.headers.accept ?? '').includes('application/json');
    const tokenEndpointAnswer = (req: Request, res: Response, fields: Record<string, string>) => {
      const json = Object.fromEntries(
        Object.entries(fields).map(([name, value]) => [name, /_in$/.test(name) ? Number(value) : value]),
      );
      if (wantsJson(req)) res.status(200).json(json);
      else
        res
          .status(200)
          .type('application/x-www-form-urlencoded')
          .send(new URLSearchParams(fields).toString());
    };
    const tokenError = (req: Request, res: Response, error: string, description: string) =>
      tokenEndpointAnswer(req, res, {
        error,
        error_description: description,
        error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${error.replace(/_/g, '-')}`,
      });

    // Form-encoded answers carry strings only: the lifetimes go as decimal strings there, as GitHub sends them.
    const tokenFields = (grant: Grant<GitHubAccount>): Record<string, string> =>
      options.expiringUserTokens
        ? {
            access_token: book.issueAccessToken(grant, 'ghu_'),
            expires_in: '28800',
            refresh_token: book.issueRefreshToken(grant, 'ghr_'),
            refresh_token_expires_in: '15897600',
            token_type: 'bearer',
            scope: '',
          }
        : { access_token: book.issueAccessToken(grant, 'gho_'), token_type: 'bearer', scope: grant.scope };

    app.get('/login/oauth/authorize', (req, res) => {
      const query = recordedOf(req).query;
      const account = byLogin.get(signedInAs(req) ?? '');
      if (query.client_id !== core.clientId || !account) {
        res.status(404).send('<html><body>Not Found</body></html>');
        return;
      }
      if (query.code_challenge && query.code_challenge_method !== 'S256') {
        res.status(400).send('<html><body>Only S256 is supported.</body></html>');
        return;
      }
      const code = book.issueCode({
        account,
        clientId: core.clientId,
        scope: (query.scope ?? '').split(/[ ,]+/).filter(Boolean).join(','),
        redirectUri: query.redirect_uri ?? '',
        codeChallenge: query.code_challenge,
        context: {},
      });
      const redirect = new URL(query.redirect_uri!);
      redirect.searchParams.set('code', code);
      if (query.state !== undefined) redirect.searchParams.set('state', query.state);
      res.redirect(302, redirect.toString());
    });

    app.post('/login/oauth/access_token', (req, res) => {
      const recorded = recordedOf(req);
      const body = readForm(recorded);
      const client = clientAuthentication(recorded);
      if (client.clientId !== core.clientId || client.clientSecret !== core.clientSecret) {
        tokenError(
          req,
          res,
          'incorrect_client_credentials',
          'The client_id and/or client_secret passed are incorrect.',
        );
        return;
      }
      if (body.grant_type === 'refresh_token') {
        const grant = options.expiringUserTokens ? book.refreshGrant(body.refresh_token) : undefined;
        if (!grant) {
          tokenError(req, res, 'bad_refresh_token', 'The refresh token passed is incorrect or expired.');
          return;
        }
        book.retireRefreshToken(body.refresh_token!);
        tokenEndpointAnswer(req, res, tokenFields(grant));
        return;
      }
      const grant = book.redeemCode(body.code, {
        clientId: core.clientId,
        redirectUri: body.redirect_uri,
        codeVerifier: body.code_verifier,
      });
      if (!grant) {
        tokenError(req, res, 'bad_verification_code', 'The code passed is incorrect or expired.');
        return;
      }
      tokenEndpointAnswer(req, res, tokenFields(grant));
    });

    app.delete('/applications/:clientId/grant', (req, res) => {
      const recorded = recordedOf(req);
      const client = clientAuthentication(recorded);
      if (
        client.method !== 'client_secret_basic' ||
        client.clientId !== core.clientId ||
        client.clientSecret !== core.clientSecret
      ) {
        res.status(401).json({ message: 'Requires authentication', documentation_url: DOCS, status: '401' });
        return;
      }
      const token = (recorded.json as { access_token?: unknown } | undefined)?.access_token;
      if (typeof token !== 'string') {
        res.status(422).json({ message: 'Invalid request.', documentation_url: DOCS, status: '422' });
        return;
      }
      if (req.params.clientId !== core.clientId || !book.revokeGrantOf(token)) {
        res.status(404).json({ message: 'Not Found', documentation_url: DOCS, status: '404' });
        return;
      }
      res.status(204).end();
    });

    app.get('/user', (req, res) => {
      const authorization = String(req.headers.authorization ?? '').replace(/^token /i, 'Bearer ');
      const grant = book.accessGrant(authorization);
      if (!grant) {
        res.status(401).json({ message: 'Bad credentials', documentation_url: DOCS, status: '401' });
        return;
      }
      const { account } = grant;
      res.json({
        login: account.login,
        id: account.id,
        node_id: `U_${Buffer.from(String(account.id)).toString('base64url')}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
        html_url: `https://github.com/${account.login}`,
        type: 'User',
        site_admin: false,
        name: account.name,
        email: null,
      });
    });
    return {};
  });
}
