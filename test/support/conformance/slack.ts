// A Slack-like stand-in, answering as Slack documents OAuth v2 (docs.slack.dev/authentication/installing-with-oauth,
// reference/methods/oauth.v2.access, reference/methods/auth.revoke, authentication/using-token-rotation):
// authorize at /oauth/v2/authorize with comma-separated `scope` (bot) and `user_scope` (user); the code
// exchanged at POST /api/oauth.v2.access, answering HTTP 200 always: on success `ok: true`, the bot token at the
// top with `token_type: "bot"`, `bot_user_id`, `app_id`, `team` {id, name}, `enterprise`, and the user's token
// under `authed_user` {id, scope, access_token, token_type: "user"}; on failure `{ok: false, error}`
// (invalid_code, bad_client_secret, bad_redirect_uri, invalid_refresh_token). With token rotation on, tokens
// expire in 43200 s and come with a refresh token that a refresh (grant_type=refresh_token at the same
// method) replaces. auth.revoke takes the token itself (bearer or `token`), answers `{ok: true, revoked: true}`
// and reports failure in the body (`{ok: false, error: "invalid_auth"}`), still with HTTP 200. auth.test says
// whose token it is.
import type { Response } from 'express';
import {
  clientAuthentication,
  readForm,
  recordedOf,
  signedInAs,
  startStandIn,
  type Grant,
} from './stand-in-server.js';

export interface SlackAccount {
  login: string;
  /** The installing user (`authed_user.id`). */
  userId: string;
  userName: string;
  team: { id: string; name: string };
  botUserId: string;
}

const ROTATION_LIFETIME = 43_200;

export async function startSlackStandIn(options: { accounts: SlackAccount[]; tokenRotation?: boolean }) {
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));
  const appId = 'A0KRD7HC3';
  const rotation = options.tokenRotation ?? false;

  return startStandIn<SlackAccount, object>((app, core, book) => {
    const answer = (res: Response, body: object) => res.status(200).json(body);
    const refused = (res: Response, error: string) => answer(res, { ok: false, error });
    // A grant per token kind: the bot's and the installing user's are separate tokens, revoked separately.
    const kindOf = new WeakMap<Grant<SlackAccount>, 'bot' | 'user'>();

    const tokenFields = (grant: Grant<SlackAccount>, kind: 'bot' | 'user') => {
      const prefix = kind === 'bot' ? 'xoxb-' : 'xoxp-';
      if (!rotation) return { access_token: book.issueAccessToken(grant, prefix) };
      return {
        access_token: book.issueAccessToken(grant, `xoxe.${prefix}1-`),
        expires_in: ROTATION_LIFETIME,
        refresh_token: book.issueRefreshToken(grant, 'xoxe-1-'),
      };
    };

    app.get('/oauth/v2/authorize', (req, res) => {
      const query = recordedOf(req).query;
      const account = byLogin.get(signedInAs(req) ?? '');
      if (query.client_id !== core.clientId || !account) {
        res.status(400).send('<html><body>Something went wrong when authorizing this app.</body></html>');
        return;
      }
      const scope = JSON.stringify({ bot: query.scope ?? '', user: query.user_scope ?? '' });
      const code = book.issueCode({
        account,
        clientId: core.clientId,
        scope,
        redirectUri: query.redirect_uri ?? '',
        context: {},
      });
      const redirect = new URL(query.redirect_uri!);
      redirect.searchParams.set('code', code);
      if (query.state !== undefined) redirect.searchParams.set('state', query.state);
      res.redirect(302, redirect.toString());
    });

    app.post('/api/oauth.v2.access', (req, res) => {
      const recorded = recordedOf(req);
      const body = readForm(recorded);
      const client = clientAuthentication(recorded);
      if (client.clientId !== core.clientId) return refused(res, 'invalid_client_id');
      if (client.clientSecret !== core.clientSecret) return refused(res, 'bad_client_secret');

      if (body.grant_type === 'refresh_token') {
        const grant = book.refreshGrant(body.refresh_token);
        if (!rotation || !grant) return refused(res, 'invalid_refresh_token');
        book.retireRefreshToken(body.refresh_token!);
        const kind = kindOf.get(grant)!;
        const { bot, user } = JSON.parse(grant.scope) as { bot: string; user: string };
        return answer(res, {
          ok: true,
          app_id: appId,
          ...tokenFields(grant, kind),
          token_type: kind,
          scope: kind === 'bot' ? bot : user,
          ...(kind === 'bot' ? { bot_user_id: grant.account.botUserId } : { user_id: grant.account.userId }),
          team: grant.account.team,
          enterprise: null,
          is_enterprise_install: false,
        });
      }

      const pending = book.redeemCode(body.code, {
        clientId: core.clientId,
        redirectUri: body.redirect_uri,
      });
      if (!pending) return refused(res, 'invalid_code');
      const { account } = pending;
      const { bot, user } = JSON.parse(pending.scope) as { bot: string; user: string };
      const botGrant = { ...pending };
      const userGrant = { ...pending };
      kindOf.set(botGrant, 'bot');
      kindOf.set(userGrant, 'user');
      // Each kind of token is its own grant, alive on its own (revoking one leaves the other).
      book.adopt(botGrant);
      book.adopt(userGrant);
      book.end(pending);
      return answer(res, {
        ok: true,
        app_id: appId,
        authed_user: {
          id: account.userId,
          ...(user ? { scope: user, ...tokenFields(userGrant, 'user'), token_type: 'user' } : {}),
        },
        ...(bot
          ? {
              scope: bot,
              token_type: 'bot',
              ...tokenFields(botGrant, 'bot'),
              bot_user_id: account.botUserId,
            }
          : {}),
        team: account.team,
        enterprise: null,
        is_enterprise_install: false,
      });
    });

    app.post('/api/auth.revoke', (req, res) => {
      const recorded = recordedOf(req);
      const bearer = /^Bearer (.+)$/i.exec(String(recorded.headers.authorization ?? ''))?.[1];
      const token = bearer ?? readForm(recorded).token;
      if (!token) return refused(res, 'not_authed');
      if (!book.accessGrant(`Bearer ${token}`) || !book.revokeGrantOf(token)) {
        return refused(res, 'invalid_auth');
      }
      return answer(res, { ok: true, revoked: true });
    });

    app.post('/api/auth.test', (req, res) => {
      const grant = book.accessGrant(req.headers.authorization);
      if (!grant) return refused(res, 'invalid_auth');
      const kind = kindOf.get(grant);
      return answer(res, {
        ok: true,
        url: `https://${grant.account.team.name.toLowerCase().replace(/\W+/g, '')}.slack.com/`,
        team: grant.account.team.name,
        user: kind === 'bot' ? 'bot' : grant.account.userName,
        team_id: grant.account.team.id,
        user_id: kind === 'bot' ? grant.account.botUserId : grant.account.userId,
        ...(kind === 'bot' ? { bot_id: `B${grant.account.botUserId.slice(1)}` } : {}),
        is_enterprise_install: false,
      });
    });
    return {};
  });
}
