// The stand-ins themselves, spoken to directly: each answers the quirk it exists for as its provider documents
// it, so that a conformance test passing means the service handled that answer (a positive control for each).
import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startGitHubStandIn } from '../../support/conformance/github.js';
import { startMicrosoftStandIn } from '../../support/conformance/microsoft.js';
import { startNotionStandIn } from '../../support/conformance/notion.js';
import { salesforceId, startSalesforceStandIn } from '../../support/conformance/salesforce.js';
import { startSlackStandIn } from '../../support/conformance/slack.js';
import { signInAndConsent } from '../../support/conformance/stand-in-server.js';

const redirectUri = 'http://127.0.0.1:9/v1/oauth/callback';

/** A code for `login`, from the authorize endpoint at `path` with the given parameters. */
async function codeFrom(origin: string, path: string, params: Record<string, string>, login = 'ada') {
  const url = new URL(path, origin);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    redirect_uri: redirectUri,
    state: 's',
    ...params,
  })) {
    url.searchParams.set(name, value);
  }
  return (await signInAndConsent(url.toString(), login)).searchParams.get('code')!;
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('the conformance stand-ins, spoken to directly', () => {
  it('Microsoft-like: an id_token from /common carries the user’s own tenant as iss, the client id as aud', async () => {
    const tid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const ms = await startMicrosoftStandIn({
      accounts: [
        { login: 'ada', oid: 'oid-1', tid, displayName: 'Ada', userPrincipalName: 'ada@contoso.com' },
      ],
    });
    try {
      const code = await codeFrom(ms.origin, '/common/oauth2/v2.0/authorize', {
        client_id: ms.clientId,
        scope: 'openid offline_access User.Read',
      });
      const answer = await fetch(
        `${ms.origin}/common/oauth2/v2.0/token`,
        form({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: ms.clientId,
          client_secret: ms.clientSecret,
        }),
      );
      const body = (await answer.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'openid User.Read', expires_in: 3600 });
      expect(typeof body.refresh_token).toBe('string');
      expect(decodeJwt(body.id_token as string)).toMatchObject({
        iss: `${ms.origin}/${tid}/v2.0`,
        aud: ms.clientId,
        tid,
      });
    } finally {
      await ms.stop();
    }
  });

  it('Slack-like: a bad code is HTTP 200 `{ok: false, error: "invalid_code"}`; a bad revocation too', async () => {
    const slack = await startSlackStandIn({
      accounts: [
        { login: 'ada', userId: 'U1', userName: 'ada', team: { id: 'T1', name: 'T' }, botUserId: 'U2' },
      ],
    });
    try {
      const exchange = await fetch(`${slack.origin}/api/oauth.v2.access`, {
        ...form({ code: 'not-a-code' }),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(slack.clientId, slack.clientSecret),
        },
      });
      expect(exchange.status).toBe(200);
      expect(await exchange.json()).toEqual({ ok: false, error: 'invalid_code' });
      const revoke = await fetch(`${slack.origin}/api/auth.revoke`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-dead' },
      });
      expect(revoke.status).toBe(200);
      expect(await revoke.json()).toEqual({ ok: false, error: 'invalid_auth' });
    } finally {
      await slack.stop();
    }
  });

  it('Notion-like: `"refresh_token": null`; a revocation without Notion-Version or a JSON body is refused', async () => {
    const notion = await startNotionStandIn({
      accounts: [
        { login: 'ada', userId: 'u1', name: 'Ada', email: 'a@x', workspace: { id: 'w1', name: 'W' } },
      ],
    });
    try {
      const code = await codeFrom(notion.origin, '/v1/oauth/authorize', {
        client_id: notion.clientId,
        owner: 'user',
      });
      const auth = basic(notion.clientId, notion.clientSecret);
      const token = await fetch(`${notion.origin}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
      });
      const body = (await token.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'bearer', refresh_token: null, workspace_id: 'w1' });
      expect(body).not.toHaveProperty('expires_in');
      const asForm = await fetch(`${notion.origin}/v1/oauth/revoke`, {
        ...form({ token: body.access_token as string }),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: auth,
          'notion-version': '2025-09-03',
        },
      });
      expect(asForm.status).toBe(400);
      const unversioned = await fetch(`${notion.origin}/v1/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ token: body.access_token }),
      });
      expect(await unversioned.json()).toMatchObject({
        object: 'error',
        status: 400,
        code: 'missing_version',
      });
    } finally {
      await notion.stop();
    }
  });

  it('Salesforce-like: no expires_in; instance_url, id, issued_at and a signature over id and issued_at', async () => {
    const account = {
      login: 'ada',
      orgId: salesforceId('00D'),
      userId: salesforceId('005'),
      username: 'a@x',
      name: 'Ada',
    };
    const sf = await startSalesforceStandIn({ accounts: [account] });
    try {
      const code = await codeFrom(sf.origin, '/services/oauth2/authorize', {
        client_id: sf.clientId,
        scope: 'api refresh_token',
      });
      const answer = await fetch(
        `${sf.origin}/services/oauth2/token`,
        form({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: sf.clientId,
          client_secret: sf.clientSecret,
        }),
      );
      const body = (await answer.json()) as Record<string, string>;
      expect(body).not.toHaveProperty('expires_in');
      expect(body).toMatchObject({
        token_type: 'Bearer',
        instance_url: sf.origin,
        id: sf.identityUrl(account),
      });
      expect(body.signature).toBe(
        createHmac('sha256', sf.clientSecret)
          .update(body.id! + body.issued_at!)
          .digest('base64'),
      );
    } finally {
      await sf.stop();
    }
  });

  it('GitHub-like: form-encoded unless Accept asks for JSON; the grant deleted only with Basic client auth', async () => {
    const github = await startGitHubStandIn({ accounts: [{ login: 'ada', id: 1, name: 'Ada' }] });
    try {
      const exchange = async (accept?: string) => {
        const code = await codeFrom(github.origin, '/login/oauth/authorize', {
          client_id: github.clientId,
          scope: 'read:user repo',
        });
        return fetch(`${github.origin}/login/oauth/access_token`, {
          ...form({ code, client_id: github.clientId, client_secret: github.clientSecret }),
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(accept ? { accept } : {}) },
        });
      };
      const plain = await exchange();
      expect(plain.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
      expect(new URLSearchParams(await plain.text()).get('scope')).toBe('read:user,repo');
      const json = (await (await exchange('application/json')).json()) as { access_token: string };
      const grant = `${github.origin}/applications/${github.clientId}/grant`;
      const body = JSON.stringify({ access_token: json.access_token });
      const headers = { 'content-type': 'application/json' };
      expect((await fetch(grant, { method: 'DELETE', headers, body })).status).toBe(401);
      const deleted = await fetch(grant, {
        method: 'DELETE',
        headers: { ...headers, authorization: basic(github.clientId, github.clientSecret) },
        body,
      });
      expect(deleted.status).toBe(204);
    } finally {
      await github.stop();
    }
  });
});
