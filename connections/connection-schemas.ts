// The answers, inputs and path parameters the connection routes share (connections/routes.ts, read-routes.ts, and
// the agent routes that answer a connection): one definition of a connection as the API shows it.
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { idSchema } from '../api/routes.js';
import { credential, identifier, visibleAscii } from '../api/validation.js';
import { integrationKeySchema, scopeSchema } from '../providers/provider-config.js';
import { connectionStatuses } from '../workflows/messages.js';

/** Every role of a workspace: reads. */
export const everyone: Role[] = ['owner', 'admin', 'member', 'agent'];
/** The people of a workspace: changes. */
export const people: Role[] = ['owner', 'admin', 'member'];
export const tags = ['connections'];

const timestamp = z.iso.datetime().nullable();
/** A connection's metadata as every route answers it. */
export const connectionSchema = z.object({
  id: z.uuid(),
  integration: z.string(),
  scope: z.enum(['workspace', 'user']),
  ownerUserId: z.string().nullable(),
  name: z.string().nullable(),
  authType: z.enum(['oauth2', 'api_key']),
  status: z.enum(connectionStatuses),
  statusReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  tokenExpiresAt: timestamp,
  nextRefreshAt: timestamp,
  lastUsedAt: timestamp,
  keyCreatedAt: timestamp,
  keyRotationDueAt: timestamp,
  keyUnused: z.boolean(),
  grantedScopes: z.array(z.string()).nullable(),
  /** The upstream account the connection is, as the provider names it; null until known. */
  account: z.object({ id: z.string(), displayName: z.string() }).nullable(),
  /** Non-secret data the provider answered (an instance URL, a team), used in the provider's URLs. */
  providerData: z.record(z.string(), z.string()),
  /** The values given at connect (defaults applied) that its provider's URLs are filled with. */
  params: z.record(z.string(), z.string()),
  /** When the refresh token lapses, where the provider says or documents it. */
  refreshTokenExpiresAt: timestamp,
  /** `refresh_token_expiring`: it lapses within a week; re-authorize the connection before then. */
  warnings: z.array(z.enum(['refresh_token_expiring'])),
});

/** `params` of a create: parameter names (as the provider declares them) to values. */
export const paramsSchema = z
  .record(
    identifier(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'a parameter name: a letter, then letters, digits or _', 40),
    visibleAscii(1, 200),
  )
  .refine((params) => Object.keys(params).length <= 10, 'at most 10 parameters');
export const oneConnection = z.object({ connection: connectionSchema });
/**
 * An authorization to send the person to: the provider's URL, and the service's start URL, which binds the
 * browser that opens it to the authorization (its callback then requires that browser) before redirecting.
 */
export const withAuthorization = z.object({
  connection: connectionSchema,
  authorizationUrl: z.url(),
  startUrl: z.url(),
});
export const idParams = z.strictObject({ id: idSchema });

export const integrationKey = integrationKeySchema;
export const scopesSchema = z.array(scopeSchema).max(50);
/** A path on PUBLIC_URL, or a URL on an allowed origin (checked by checkReturnTo). */
export const returnToSchema = visibleAscii(1, 2048);
export const apiKeySchema = credential(4096);
