// The catalogue's entries as they were at commit e30cde7 (catalogue/providers.ts), before each was checked
// against its provider's documentation. Kept, unchanged, as a fixture so that the conformance tests can show
// that each stand-in's documented behaviour broke the old entry at a named step and that the current entry
// passes it ("each fails on the old catalogue and passes now", issue 12). Never used by the service.
import type { CatalogueEntry, ProviderConfigInput } from '../../../providers/provider-config.js';
import { pointAt } from '../catalogue.js';

const oauth2 = { authType: 'oauth2', issParameterSupported: false, scopeSeparator: ' ' } as const;
const bearerApiKey = {
  authType: 'api_key',
  injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
} as const;

export const oldCatalogueData = [
  {
    key: 'google',
    displayName: 'Google',
    personal: true,
    ...oauth2,
    issuer: 'https://accounts.google.com',
    issParameterSupported: true,
    authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    revocationEndpoint: 'https://oauth2.googleapis.com/revoke',
    scopes: ['openid', 'email', 'profile'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    // A refresh token is only issued with offline access, and again only on a fresh consent.
    authorizationParams: { access_type: 'offline', prompt: 'consent' },
    apiBaseUrl: 'https://www.googleapis.com',
  },
  {
    key: 'microsoft',
    displayName: 'Microsoft 365',
    personal: true,
    ...oauth2,
    // The identity platform's issuer is per tenant (…/{tenant}/v2.0); the multi-tenant endpoints have none.
    issuer: 'https://login.microsoftonline.com',
    authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    scopes: ['openid', 'offline_access', 'User.Read'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    apiBaseUrl: 'https://graph.microsoft.com',
    // ConsistencyLevel: eventual is required for Graph's advanced directory queries; client-request-id
    // correlates a call with Microsoft's logs.
    proxy: {
      requestHeaders: ['ConsistencyLevel', 'client-request-id'],
      responseHeaders: ['client-request-id'],
    },
  },
  {
    key: 'github',
    displayName: 'GitHub',
    personal: false,
    ...oauth2,
    issuer: 'https://github.com',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    // Grants are removed with DELETE /applications/{client_id}/grant, not an RFC 7009 endpoint.
    scopes: ['read:user', 'repo'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    apiBaseUrl: 'https://api.github.com',
    proxy: { requestHeaders: ['X-GitHub-Api-Version'], responseHeaders: ['X-GitHub-Request-Id'] },
  },
  {
    key: 'slack',
    displayName: 'Slack',
    personal: false,
    ...oauth2,
    issuer: 'https://slack.com',
    authorizationEndpoint: 'https://slack.com/oauth/v2/authorize',
    tokenEndpoint: 'https://slack.com/api/oauth.v2.access',
    revocationEndpoint: 'https://slack.com/api/auth.revoke',
    scopes: ['channels:read', 'chat:write'],
    scopeSeparator: ',',
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    apiBaseUrl: 'https://slack.com/api',
  },
  {
    key: 'salesforce',
    displayName: 'Salesforce',
    personal: false,
    ...oauth2,
    issuer: 'https://login.salesforce.com',
    authorizationEndpoint: 'https://login.salesforce.com/services/oauth2/authorize',
    tokenEndpoint: 'https://login.salesforce.com/services/oauth2/token',
    revocationEndpoint: 'https://login.salesforce.com/services/oauth2/revoke',
    scopes: ['api', 'refresh_token'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    // No apiBaseUrl: the API lives on each org's own instance (the token response's instance_url).
  },
  {
    key: 'hubspot',
    displayName: 'HubSpot',
    personal: false,
    ...oauth2,
    issuer: 'https://app.hubspot.com',
    authorizationEndpoint: 'https://app.hubspot.com/oauth/authorize',
    tokenEndpoint: 'https://api.hubapi.com/oauth/v1/token',
    // Refresh tokens are deleted with DELETE /oauth/v1/refresh-tokens/{token}, not an RFC 7009 endpoint.
    scopes: ['oauth', 'crm.objects.contacts.read'],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_post',
    apiBaseUrl: 'https://api.hubapi.com',
  },
  {
    key: 'notion',
    displayName: 'Notion',
    personal: false,
    ...oauth2,
    issuer: 'https://api.notion.com',
    authorizationEndpoint: 'https://api.notion.com/v1/oauth/authorize',
    tokenEndpoint: 'https://api.notion.com/v1/oauth/token',
    revocationEndpoint: 'https://api.notion.com/v1/oauth/revoke',
    // Notion has no scopes: access is chosen page by page on the consent screen.
    scopes: [],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_basic',
    authorizationParams: { owner: 'user' },
    apiBaseUrl: 'https://api.notion.com',
    // Required on every request.
    proxy: { requestHeaders: ['Notion-Version'] },
  },
  {
    key: 'atlassian',
    displayName: 'Atlassian (Jira, Confluence)',
    personal: false,
    ...oauth2,
    issuer: 'https://auth.atlassian.com',
    authorizationEndpoint: 'https://auth.atlassian.com/authorize',
    tokenEndpoint: 'https://auth.atlassian.com/oauth/token',
    scopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_post',
    authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    apiBaseUrl: 'https://api.atlassian.com',
  },
  {
    key: 'linear',
    displayName: 'Linear',
    personal: false,
    ...oauth2,
    issuer: 'https://linear.app',
    authorizationEndpoint: 'https://linear.app/oauth/authorize',
    tokenEndpoint: 'https://api.linear.app/oauth/token',
    revocationEndpoint: 'https://api.linear.app/oauth/revoke',
    scopes: ['read'],
    scopeSeparator: ',',
    pkce: false,
    tokenEndpointAuthMethod: 'client_secret_post',
    apiBaseUrl: 'https://api.linear.app',
  },
  {
    key: 'zoom',
    displayName: 'Zoom',
    personal: false,
    ...oauth2,
    issuer: 'https://zoom.us',
    authorizationEndpoint: 'https://zoom.us/oauth/authorize',
    tokenEndpoint: 'https://zoom.us/oauth/token',
    revocationEndpoint: 'https://zoom.us/oauth/revoke',
    // Zoom grants the scopes chosen on the app's Marketplace page.
    scopes: [],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    apiBaseUrl: 'https://api.zoom.us/v2',
  },
  {
    key: 'dropbox',
    displayName: 'Dropbox',
    personal: false,
    ...oauth2,
    issuer: 'https://www.dropbox.com',
    authorizationEndpoint: 'https://www.dropbox.com/oauth2/authorize',
    tokenEndpoint: 'https://api.dropboxapi.com/oauth2/token',
    // Tokens are revoked with the token itself (POST /2/auth/token/revoke), not an RFC 7009 endpoint.
    scopes: ['account_info.read', 'files.metadata.read'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    authorizationParams: { token_access_type: 'offline' },
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
    displayName: 'Asana',
    personal: false,
    ...oauth2,
    issuer: 'https://app.asana.com',
    authorizationEndpoint: 'https://app.asana.com/-/oauth_authorize',
    tokenEndpoint: 'https://app.asana.com/-/oauth_token',
    revocationEndpoint: 'https://app.asana.com/-/oauth_revoke',
    scopes: ['default'],
    pkce: true,
    tokenEndpointAuthMethod: 'client_secret_post',
    apiBaseUrl: 'https://app.asana.com/api/1.0',
  },
  {
    key: 'openai',
    displayName: 'OpenAI',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.openai.com',
    verification: { method: 'GET', path: '/v1/models' },
    proxy: {
      requestHeaders: ['OpenAI-Organization', 'OpenAI-Project'],
      responseHeaders: ['OpenAI-Organization', 'OpenAI-Processing-Ms', 'OpenAI-Version'],
    },
  },
  {
    key: 'stripe',
    displayName: 'Stripe',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.stripe.com',
    verification: { method: 'GET', path: '/v1/balance' },
    // Stripe-Account makes a call on behalf of a connected account (Connect).
    proxy: { requestHeaders: ['Stripe-Version', 'Stripe-Account'] },
  },
  {
    key: 'sendgrid',
    displayName: 'SendGrid',
    personal: false,
    ...bearerApiKey,
    apiBaseUrl: 'https://api.sendgrid.com',
    verification: { method: 'GET', path: '/v3/scopes' },
  },
] as const;

type OldEntry = (typeof oldCatalogueData)[number];

/** The old entry `key` as a workspace would have configured it, its URLs on the stand-in's origin. */
export function oldProvider(key: OldEntry['key'], origin: string): ProviderConfigInput {
  const { key: _key, ...provider } = oldCatalogueData.find((candidate) => candidate.key === key)!;
  // pointAt moves the URLs of any entry-shaped value; the old entries predate the catalogue entry type.
  return pointAt(provider as unknown as CatalogueEntry, origin) as unknown as ProviderConfigInput;
}
