// The answers, inputs and path parameters the connection routes share (connections/routes.ts, read-routes.ts, and
// the agent routes that answer a connection): one definition of a connection as the API shows it.
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { idSchema } from '../api/routes.js';
import { credential, visibleAscii } from '../api/validation.js';
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
});
export const oneConnection = z.object({ connection: connectionSchema });
export const withAuthorization = z.object({ connection: connectionSchema, authorizationUrl: z.url() });
export const idParams = z.strictObject({ id: idSchema });

export const integrationKey = integrationKeySchema;
export const scopesSchema = z.array(scopeSchema).max(50);
/** A path on PUBLIC_URL, or a URL on an allowed origin (checked by checkReturnTo). */
export const returnToSchema = visibleAscii(1, 2048);
export const apiKeySchema = credential(4096);
