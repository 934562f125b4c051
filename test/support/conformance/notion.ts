// A Notion-like stand-in, answering as Notion documents its public-connection OAuth
// (developers.notion.com/docs/authorization, reference/create-a-token, reference/revoke-token,
// reference/get-self): authorize at /v1/oauth/authorize (`owner=user`); POST /v1/oauth/token with HTTP Basic
// client authentication, answering `token_type: "bearer"`, no `expires_in`, `"refresh_token": null` for a
// connection that has none, and the fields bot_id, workspace_id, workspace_name, workspace_icon, owner {type,
// user} and duplicated_template_id; POST /v1/oauth/revoke with Basic auth, a `Notion-Version` header and a JSON
// body `{"token": …}`, answering `{request_id}` (refused otherwise, in Notion's error object
// `{object: "error", status, code, message}`); GET /v1/users/me answering the connection's bot user.
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import {
  clientAuthentication,
  readForm,
  recordedOf,
  signedInAs,
  startStandIn,
  type Grant,
} from './stand-in-server.js';

export interface NotionAccount {
  login: string;
  /** The authorizing person (`owner.user.id`). */
  userId: string;
  name: string;
  email: string;
  workspace: { id: string; name: string };
}

export async function startNotionStandIn(options: { accounts: NotionAccount[]; refreshTokens?: boolean }) {
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));
  const botIds = new WeakMap<Grant<NotionAccount>, string>();

  return startStandIn<NotionAccount, object>((app, core, book) => {
    const notionError = (res: Response, status: number, code: string, message: string) =>
      res.status(status).json({ object: 'error', status, code, message, request_id: randomUUID() });
    const oauthError = (res: Response, error: string, description: string) =>
      res.status(400).json({ error, error_description: description, request_id: randomUUID() });
    const basicClient = (req: Parameters<typeof recordedOf>[0]) => {
      const client = clientAuthentication(recordedOf(req));
      return client.method === 'client_secret_basic' &&
        client.clientId === core.clientId &&
        client.clientSecret === core.clientSecret
        ? client
        : undefined;
    };
    const person = (account: NotionAccount) => ({
      object: 'user',
      id: account.userId,
      name: account.name,
      avatar_url: null,
      type: 'person',
      person: { email: account.email },
    });

    const tokenAnswer = (grant: Grant<NotionAccount>) => ({
      access_token: book.issueAccessToken(grant, 'ntn_'),
      token_type: 'bearer',
      refresh_token: options.refreshTokens ? book.issueRefreshToken(grant, 'nrt_') : null,
      bot_id: botIds.get(grant),
      workspace_name: grant.account.workspace.name,
      workspace_icon: null,
      workspace_id: grant.account.workspace.id,
      owner: { type: 'user', user: person(grant.account) },
      duplicated_template_id: null,
      request_id: randomUUID(),
    });

    app.get('/v1/oauth/authorize', (req, res) => {
      const query = recordedOf(req).query;
      const account = byLogin.get(signedInAs(req) ?? '');
      if (query.client_id !== core.clientId || query.response_type !== 'code' || !account) {
        res.status(400).send('<html><body>Invalid OAuth client.</body></html>');
        return;
      }
      const code = book.issueCode({
        account,
        clientId: core.clientId,
        scope: '',
        redirectUri: query.redirect_uri ?? '',
        context: { owner: query.owner ?? '' },
      });
      const redirect = new URL(query.redirect_uri!);
      redirect.searchParams.set('code', code);
      if (query.state !== undefined) redirect.searchParams.set('state', query.state);
      res.redirect(302, redirect.toString());
    });

    app.post('/v1/oauth/token', (req, res) => {
      if (!basicClient(req)) {
        notionError(res, 401, 'unauthorized', 'API token is invalid.');
        return;
      }
      const body = readForm(recordedOf(req));
      if (body.grant_type === 'authorization_code') {
        const grant = book.redeemCode(body.code, { clientId: core.clientId, redirectUri: body.redirect_uri });
        if (!grant) {
          oauthError(res, 'invalid_grant', 'Invalid code.');
          return;
        }
        botIds.set(grant, randomUUID());
        res.json(tokenAnswer(grant));
        return;
      }
      if (body.grant_type === 'refresh_token') {
        const grant = book.refreshGrant(body.refresh_token);
        if (!grant) {
          oauthError(res, 'invalid_grant', 'Invalid refresh token.');
          return;
        }
        book.retireRefreshToken(body.refresh_token!);
        res.json(tokenAnswer(grant));
        return;
      }
      oauthError(res, 'unsupported_grant_type', 'Unsupported grant type.');
    });

    app.post('/v1/oauth/revoke', (req, res) => {
      const recorded = recordedOf(req);
      if (!basicClient(req)) {
        notionError(res, 401, 'unauthorized', 'API token is invalid.');
        return;
      }
      if (!recorded.headers['notion-version']) {
        notionError(
          res,
          400,
          'missing_version',
          'Notion-Version header failed validation: should be defined.',
        );
        return;
      }
      const token = (recorded.json as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string') {
        notionError(res, 400, 'validation_error', 'body failed validation: body.token should be defined.');
        return;
      }
      if (!book.revokeGrantOf(token)) {
        notionError(res, 401, 'unauthorized', 'API token is invalid.');
        return;
      }
      res.json({ request_id: randomUUID() });
    });

    app.get('/v1/users/me', (req, res) => {
      const grant = book.accessGrant(req.headers.authorization);
      if (!grant) {
        notionError(res, 401, 'unauthorized', 'API token is invalid.');
        return;
      }
      if (!req.headers['notion-version']) {
        notionError(
          res,
          400,
          'missing_version',
          'Notion-Version header failed validation: should be defined.',
        );
        return;
      }
      res.json({
        object: 'user',
        id: botIds.get(grant),
        name: 'Connections',
        avatar_url: null,
        type: 'bot',
        bot: {
          owner: { type: 'user', user: person(grant.account) },
          workspace_name: grant.account.workspace.name,
        },
        request_id: randomUUID(),
      });
    });
    return {};
  });
}
