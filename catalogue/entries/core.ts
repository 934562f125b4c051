// The catalogue's first entries, each checked field by field against its provider's own documentation.
// Long because it is data: one entry per provider, each read on its own. Each entry's `docs` are the pages
// its facts were checked against; catalogue/VERDICTS.md says, per provider, what could not be verified.
import type { CatalogueEntryInput } from '../../providers/provider-config.js';
import { bearerApiKey, oauth2 } from '../entry-defaults.js';

const day = 86_400;

// A Microsoft Entra tenant: a GUID, a verified domain, or one of the multi-tenant aliases.
const microsoftTenant =
  '^(?:common|organizations|consumers|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63})$';

// Where a Salesforce org signs in: production (`login`), sandbox (`test`), or the org's My Domain
// (`acme.my`, `acme--dev.sandbox.my`), each under salesforce.com.
const salesforceDomain = '^(?:login|test|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.sandbox)?\\.my)$';

type OAuthEntryInput = Extract<CatalogueEntryInput, { authType: 'oauth2' }>;

// Slack's bot and user installs share the authorization server and its answer's quirks.
const slackServer = {
  ...oauth2,
  issuer: 'https://slack.com',
  authorizationEndpoint: 'https://slack.com/oauth/v2/authorize',
  tokenEndpoint: 'https://slack.com/api/oauth.v2.access',
  scopeSeparator: ',',
  // PKCE is for apps that opt in, which makes them public clients.
  pkce: false,
  tokenEndpointAuthMethod: 'client_secret_basic',
  // auth.revoke is a Web API method: the token revokes itself, and failure is reported in the body.
  revocation: {
    style: 'request',
    url: 'https://slack.com/api/auth.revoke',
    method: 'POST',
    token: 'access',
    tokenIn: 'bearer',
    successStatuses: [200],
    okField: 'ok',
  },
  providerData: [
    { name: 'team_id', path: 'team.id' },
    { name: 'team_name', path: 'team.name' },
  ],
  apiBaseUrl: 'https://slack.com/api',
} satisfies Partial<OAuthEntryInput>;

const slackDocs = [
  'https://docs.slack.dev/authentication/installing-with-oauth',
  'https://docs.slack.dev/reference/methods/oauth.v2.access',
  'https://docs.slack.dev/reference/methods/auth.revoke',
  'https://docs.slack.dev/authentication/using-token-rotation',
];

export const coreEntries = [
  {
    key: 'google',
    category: 'mail',
    docs: [
      'https://developers.google.com/identity/protocols/oauth2/web-server',
      'https://developers.google.com/identity/protocols/oauth2',
      'https://developers.google.com/identity/openid-connect/openid-connect',
    ],
    displayName: 'Google',
    personal: true,
    ...oauth2,
    issuer: 'https://accounts.google.com',
    issParameterSupported: true,
    authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    revocation: { style: 'rfc7009', url: 'https://oauth2.googleapis.com/revoke', token: 'refresh' },
    scopes: ['openid', 'email', 'profile'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    // A refresh token is only issued with offline access, and again only on a fresh consent.
    authorizationParams: { access_type: 'offline', prompt: 'consent' },
    refreshTokens: 'reusable',
    refreshTokenLifetime: { seconds: 180 * day, kind: 'idle' },
    identity: {
      request: { url: 'https://openidconnect.googleapis.com/v1/userinfo' },
      id: 'sub',
      displayName: ['email', 'name'],
    },
    apiBaseUrl: 'https://www.googleapis.com',
    notes:
      'Refresh tokens lapse after six months unused; for an app whose consent screen is in testing they lapse after 7 days.',
  },
  {
    key: 'microsoft',
    category: 'mail',
    docs: [
      'https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow',
      'https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens',
      'https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens',
      'https://learn.microsoft.com/en-us/graph/api/user-get',
    ],
    displayName: 'Microsoft 365',
    personal: true,
    ...oauth2,
    parameters: [
      {
        name: 'tenant',
        label: 'Microsoft Entra tenant',
        description:
          'A tenant id or verified domain, or common (work, school and personal accounts), organizations or consumers.',
        pattern: microsoftTenant,
        default: 'common',
        example: 'contoso.onmicrosoft.com',
      },
    ],
    issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
    authorizationEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
    tokenEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
    scopes: ['openid', 'offline_access', 'User.Read'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    // The id_token is issued by the user's own tenant, whatever alias the URLs named.
    tokenResponse: { idTokenIssuer: 'https://login.microsoftonline.com/{tid}/v2.0' },
    refreshTokens: 'rotating',
    refreshTokenLifetime: { seconds: 90 * day, kind: 'idle' },
    identity: {
      request: { url: '/v1.0/me' },
      id: 'id',
      displayName: ['displayName', 'userPrincipalName', 'mail'],
    },
    apiBaseUrl: 'https://graph.microsoft.com',
    // ConsistencyLevel: eventual is required for Graph's advanced directory queries; client-request-id
    // correlates a call with Microsoft's logs.
    proxy: {
      requestHeaders: ['ConsistencyLevel', 'client-request-id'],
      responseHeaders: ['client-request-id'],
    },
    notes:
      'The identity platform has no RFC 7009 revocation: disconnecting forgets the tokens; the user or an admin removes the grant in the account or Entra portal.',
  },
  {
    key: 'github',
    category: 'code',
    docs: [
      'https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
      'https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication',
      'https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens',
      'https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization',
      'https://docs.github.com/en/rest/users/users#get-the-authenticated-user',
    ],
    displayName: 'GitHub',
    personal: false,
    ...oauth2,
    issuer: 'https://github.com',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    scopes: ['read:user'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    // Without it the token endpoint answers form-encoded.
    tokenRequest: { headers: { Accept: 'application/json' } },
    refreshRequest: { headers: { Accept: 'application/json' } },
    // Only GitHub Apps with expiring user tokens get refresh tokens; each refresh replaces it.
    // A spent code or refresh token is answered with these codes (at HTTP 200), not invalid_grant.
    tokenResponse: {
      refreshTokenExpiresIn: 'refresh_token_expires_in',
      grantErrors: ['bad_verification_code', 'bad_refresh_token'],
    },
    refreshTokens: 'rotating',
    revocation: {
      style: 'request',
      url: 'https://api.github.com/applications/{clientId}/grant',
      method: 'DELETE',
      token: 'access',
      tokenIn: 'json',
      tokenField: 'access_token',
      auth: 'client_secret_basic',
      headers: { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
      successStatuses: [204],
    },
    identity: { request: { url: '/user' }, id: 'id', displayName: ['login', 'name'] },
    apiBaseUrl: 'https://api.github.com',
    proxy: { requestHeaders: ['X-GitHub-Api-Version'], responseHeaders: ['X-GitHub-Request-Id'] },
    notes:
      'OAuth apps get tokens that do not expire and no refresh token; GitHub Apps with expiring user tokens get 8-hour tokens and a 6-month refresh token.',
  },
  {
    key: 'slack',
    category: 'communication',
    docs: slackDocs,
    displayName: 'Slack',
    personal: false,
    ...slackServer,
    scopes: ['channels:read', 'chat:write'],
    // A spent code or refresh token is answered with these codes, not invalid_grant.
    tokenResponse: {
      bearerTokenTypes: ['bot'],
      okField: 'ok',
      grantErrors: ['invalid_code', 'invalid_refresh_token'],
    },
    refreshTokens: 'rotating',
    identity: { id: ['team.id', 'bot_user_id'], displayName: ['team.name'] },
    notes:
      'The bot token. Refresh tokens exist only for apps with token rotation turned on (tokens then last 12 hours); otherwise the token does not expire.',
  },
  {
    key: 'slack-user',
    category: 'communication',
    docs: slackDocs,
    displayName: 'Slack (as a user)',
    personal: true,
    ...slackServer,
    // User scopes travel in user_scope; the user's token sits under authed_user.
    scopeParam: 'user_scope',
    scopes: ['users:read'],
    tokenResponse: {
      accessToken: 'authed_user.access_token',
      refreshToken: 'authed_user.refresh_token',
      expiresIn: 'authed_user.expires_in',
      scope: 'authed_user.scope',
      tokenType: 'authed_user.token_type',
      bearerTokenTypes: ['user'],
      okField: 'ok',
      grantErrors: ['invalid_code', 'invalid_refresh_token'],
    },
    refreshTokens: 'none',
    identity: { id: ['team.id', 'authed_user.id'], displayName: ['team.name', 'authed_user.id'] },
    notes:
      'A user token, for apps without token rotation: the refresh answer for a rotated user token is not read under authed_user.',
  },
  {
    key: 'salesforce',
    category: 'crm',
    docs: [
      'https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_web_server_flow.htm&type=5',
      'https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&type=5',
      'https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_userinfo_endpoint.htm&type=5',
      'https://developer.salesforce.com/docs/platform/api-metadata/guide/meta-error-handling-session-exp.html',
    ],
    displayName: 'Salesforce',
    personal: false,
    ...oauth2,
    parameters: [
      {
        name: 'domain',
        label: 'Salesforce login host',
        description:
          'login for production, test for a sandbox, or the org’s My Domain before .salesforce.com (acme.my, acme--dev.sandbox.my).',
        pattern: salesforceDomain,
        default: 'login',
        example: 'acme.my',
      },
    ],
    issuer: 'https://{domain}.salesforce.com',
    authorizationEndpoint: 'https://{domain}.salesforce.com/services/oauth2/authorize',
    tokenEndpoint: 'https://{domain}.salesforce.com/services/oauth2/token',
    revocation: {
      style: 'rfc7009',
      url: 'https://{domain}.salesforce.com/services/oauth2/revoke',
      token: 'refresh',
    },
    scopes: ['api', 'refresh_token', 'id'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshTokens: 'reusable',
    // The token response has no expires_in; the access token lives as long as the org's session timeout,
    // two hours by default.
    defaultAccessLifetimeSeconds: 7200,
    identity: {
      request: { url: 'https://{domain}.salesforce.com/services/oauth2/userinfo' },
      id: ['organization_id', 'user_id'],
      displayName: ['name', 'preferred_username', 'email'],
    },
    // The org's API lives on its own instance, named in the token response.
    providerData: [
      { name: 'instance_url', path: 'instance_url', urlHosts: ['.salesforce.com', '.force.com'] },
    ],
    apiBaseUrl: '{instance_url}',
  },
  {
    key: 'hubspot',
    category: 'crm',
    docs: [
      'https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens',
      'https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/migration-guide',
      'https://developers.hubspot.com/docs/api-reference/latest/authentication/oauth-tokens/revoke-token',
      'https://developers.hubspot.com/changelog/v1-oauth-api-deprecation',
      'https://developers.hubspot.com/changelog/additional-details-returned-when-generating-oauth-access-tokens',
    ],
    displayName: 'HubSpot',
    personal: false,
    ...oauth2,
    issuer: 'https://app.hubspot.com',
    authorizationEndpoint: 'https://app.hubspot.com/oauth/authorize',
    // The date-versioned endpoints replace /oauth/v1, which shuts down on 2027-02-16.
    tokenEndpoint: 'https://api.hubapi.com/oauth/2026-03/token',
    revocation: {
      style: 'rfc7009',
      url: 'https://api.hubapi.com/oauth/2026-03/token/revoke',
      token: 'refresh',
      auth: 'client_secret_post',
    },
    scopes: ['oauth'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshTokens: 'reusable',
    // The token response names the HubSpot account (hub) the app was installed in.
    identity: { id: 'hub_id', displayName: ['hub_id'] },
    providerData: [{ name: 'hub_id', path: 'hub_id' }],
    apiBaseUrl: 'https://api.hubapi.com',
  },
  {
    key: 'notion',
    category: 'documents',
    docs: [
      'https://developers.notion.com/docs/authorization',
      'https://developers.notion.com/reference/create-a-token',
      'https://developers.notion.com/reference/refresh-a-token',
      'https://developers.notion.com/reference/revoke-token',
    ],
    displayName: 'Notion',
    personal: false,
    ...oauth2,
    issuer: 'https://api.notion.com',
    authorizationEndpoint: 'https://api.notion.com/v1/oauth/authorize',
    tokenEndpoint: 'https://api.notion.com/v1/oauth/token',
    // Notion has no scopes: access is chosen page by page on the consent screen.
    scopes: [],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_basic',
    authorizationParams: { owner: 'user' },
    // refresh_token may be null (no refresh token); a refresh answers a new one.
    refreshTokens: 'rotating',
    revocation: {
      style: 'request',
      url: 'https://api.notion.com/v1/oauth/revoke',
      method: 'POST',
      token: 'access',
      tokenIn: 'json',
      tokenField: 'token',
      auth: 'client_secret_basic',
      headers: { 'Notion-Version': '2025-09-03' },
      successStatuses: [200],
    },
    identity: {
      id: ['workspace_id', 'owner.user.id'],
      displayName: ['workspace_name', 'owner.user.name', 'owner.user.person.email'],
    },
    providerData: [
      { name: 'workspace_id', path: 'workspace_id' },
      { name: 'workspace_name', path: 'workspace_name' },
    ],
    apiBaseUrl: 'https://api.notion.com',
    // Required on every request.
    proxy: { requestHeaders: ['Notion-Version'] },
  },
  {
    key: 'atlassian',
    category: 'project-management',
    docs: [
      'https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/',
      'https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/',
    ],
    displayName: 'Atlassian (Jira, Confluence)',
    personal: false,
    ...oauth2,
    issuer: 'https://auth.atlassian.com',
    authorizationEndpoint: 'https://auth.atlassian.com/authorize',
    tokenEndpoint: 'https://auth.atlassian.com/oauth/token',
    scopes: ['read:me', 'read:jira-work', 'offline_access'],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_post',
    authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    refreshTokens: 'rotating',
    refreshTokenLifetime: { seconds: 365 * day, kind: 'fixed' },
    identity: {
      request: { url: 'https://api.atlassian.com/me' },
      id: 'account_id',
      displayName: ['name', 'email'],
    },
    providerData: [
      {
        name: 'cloudId',
        from: 'request',
        path: '0.id',
        request: { url: 'https://api.atlassian.com/oauth/token/accessible-resources' },
      },
    ],
    apiBaseUrl: 'https://api.atlassian.com',
    notes:
      'Product APIs live under /ex/jira/{cloudId} or /ex/confluence/{cloudId}; the first site’s cloudId is kept on the connection. Refresh tokens also lapse after 90 days unused.',
  },
  {
    key: 'linear',
    category: 'project-management',
    docs: ['https://linear.app/developers/oauth-2-0-authentication', 'https://linear.app/developers/graphql'],
    displayName: 'Linear',
    personal: false,
    ...oauth2,
    issuer: 'https://linear.app',
    authorizationEndpoint: 'https://linear.app/oauth/authorize',
    tokenEndpoint: 'https://api.linear.app/oauth/token',
    revocation: {
      style: 'request',
      url: 'https://api.linear.app/oauth/revoke',
      method: 'POST',
      token: 'access',
      tokenIn: 'bearer',
      successStatuses: [200],
    },
    scopes: ['read'],
    scopeSeparator: ',',
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshTokens: 'rotating',
    identity: {
      request: {
        url: '/graphql',
        method: 'POST',
        jsonBody: { query: '{ viewer { id name email } }' },
      },
      id: 'data.viewer.id',
      displayName: ['data.viewer.name', 'data.viewer.email'],
    },
    apiBaseUrl: 'https://api.linear.app',
  },
  {
    key: 'zoom',
    category: 'video',
    docs: [
      'https://developers.zoom.us/docs/integrations/oauth/',
      'https://developers.zoom.us/docs/api/users/',
    ],
    displayName: 'Zoom',
    personal: false,
    ...oauth2,
    issuer: 'https://zoom.us',
    authorizationEndpoint: 'https://zoom.us/oauth/authorize',
    tokenEndpoint: 'https://zoom.us/oauth/token',
    revocation: {
      style: 'rfc7009',
      url: 'https://zoom.us/oauth/revoke',
      token: 'access',
      auth: 'client_secret_basic',
    },
    // Zoom grants the scopes chosen on the app's Marketplace page.
    scopes: [],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    refreshTokens: 'rotating',
    identity: { request: { url: '/users/me' }, id: 'id', displayName: ['display_name', 'email'] },
    apiBaseUrl: 'https://api.zoom.us/v2',
  },
  {
    key: 'dropbox',
    category: 'storage',
    docs: [
      'https://developers.dropbox.com/oauth-guide',
      'https://www.dropbox.com/developers/documentation/http/documentation#auth-token-revoke',
      'https://www.dropbox.com/developers/documentation/http/documentation#users-get_current_account',
    ],
    displayName: 'Dropbox',
    personal: true,
    ...oauth2,
    issuer: 'https://www.dropbox.com',
    authorizationEndpoint: 'https://www.dropbox.com/oauth2/authorize',
    tokenEndpoint: 'https://api.dropboxapi.com/oauth2/token',
    scopes: ['account_info.read', 'files.metadata.read'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    authorizationParams: { token_access_type: 'offline' },
    refreshTokens: 'reusable',
    // The token revokes itself, and with it its refresh token and that refresh token's other access tokens.
    revocation: {
      style: 'request',
      url: 'https://api.dropboxapi.com/2/auth/token/revoke',
      method: 'POST',
      token: 'access',
      tokenIn: 'bearer',
      successStatuses: [200],
    },
    identity: {
      request: { url: '/2/users/get_current_account', method: 'POST', jsonBody: null },
      id: 'account_id',
      displayName: ['name.display_name', 'email'],
    },
    apiBaseUrl: 'https://api.dropboxapi.com',
    // Arguments travel in Dropbox-API-Arg and results come back in Dropbox-API-Result where the body is
    // file content; the other two pick the team member and the namespace a call acts in.
    proxy: {
      requestHeaders: ['Dropbox-API-Arg', 'Dropbox-API-Path-Root', 'Dropbox-API-Select-User'],
      responseHeaders: ['Dropbox-API-Result'],
    },
  },
  {
    key: 'asana',
    category: 'project-management',
    docs: [
      'https://developers.asana.com/docs/oauth',
      'https://developers.asana.com/docs/oauth-scopes',
      'https://developers.asana.com/reference/getuser',
    ],
    displayName: 'Asana',
    personal: false,
    ...oauth2,
    issuer: 'https://app.asana.com',
    authorizationEndpoint: 'https://app.asana.com/-/oauth_authorize',
    tokenEndpoint: 'https://app.asana.com/-/oauth_token',
    revocation: {
      style: 'rfc7009',
      url: 'https://app.asana.com/-/oauth_revoke',
      token: 'refresh',
      auth: 'client_secret_post',
    },
    // A granular scope: apps registered with granular scopes refuse `default`, and the reverse.
    scopes: ['users:read'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshTokens: 'reusable',
    identity: { request: { url: '/users/me' }, id: 'data.gid', displayName: ['data.name', 'data.email'] },
    apiBaseUrl: 'https://app.asana.com/api/1.0',
    notes:
      'For apps registered with granular scopes. An app registered for full permissions must be configured with the scope default instead.',
  },
  {
    key: 'openai',
    category: 'ai',
    docs: [
      'https://platform.openai.com/docs/api-reference/authentication',
      'https://platform.openai.com/docs/api-reference/models/list',
    ],
    displayName: 'OpenAI',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.openai.com',
    // A restricted key without the models permission answers 403 while being a good key.
    verification: { method: 'GET', path: '/v1/models', rejectStatuses: [401] },
    proxy: {
      requestHeaders: ['OpenAI-Organization', 'OpenAI-Project'],
      responseHeaders: ['OpenAI-Organization', 'OpenAI-Processing-Ms', 'OpenAI-Version'],
    },
  },
  {
    key: 'stripe',
    category: 'payments',
    docs: [
      'https://docs.stripe.com/api/authentication',
      'https://docs.stripe.com/keys/restricted-api-keys',
      'https://docs.stripe.com/api/errors',
      'https://docs.stripe.com/api/accounts/retrieve',
    ],
    displayName: 'Stripe',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.stripe.com',
    // A restricted key lacking the balance permission answers 403 while being a good key.
    verification: { method: 'GET', path: '/v1/balance', rejectStatuses: [401] },
    identity: {
      request: { url: '/v1/account' },
      id: 'id',
      displayName: ['settings.dashboard.display_name', 'business_profile.name', 'email', 'id'],
      // A restricted key may lack the permission to read the account; it is a good key all the same.
      whenRefused: 'account_unknown',
    },
    // Stripe-Account makes a call on behalf of a connected account (Connect).
    proxy: { requestHeaders: ['Stripe-Version', 'Stripe-Account'] },
  },
  {
    key: 'sendgrid',
    category: 'marketing',
    docs: [
      'https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/authentication',
      'https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access',
    ],
    displayName: 'SendGrid',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.sendgrid.com',
    // Every key may list its own scopes.
    verification: { method: 'GET', path: '/v3/scopes' },
  },
] as const satisfies readonly CatalogueEntryInput[];
