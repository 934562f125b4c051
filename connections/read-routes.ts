// The connection read routes: list, one connection, its lifecycle events. They read the read model
// (ConnectionStore) only, as the caller may see it; nothing here changes a connection or answers a credential.
import { z } from 'zod';
import { RouteList, type Route } from '../api/routes.js';
import type { Db } from '../db/database.js';
import { text } from '../api/validation.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { connectionStatuses } from '../workflows/messages.js';
import { visibilityOf, visibleConnection } from './access.js';
import { connectionSchema, everyone, idParams, oneConnection, tags } from './connection-schemas.js';
import { connectionStore } from './connection-store.js';

const integrationKey = integrationKeySchema;

export function connectionReadRoutes({ db }: { db: Db }): Route[] {
  const registry = new RouteList();

  registry.add({
    method: 'get',
    path: '/v1/connections',
    summary:
      'List the connections the caller may see, filtered by status, integration, scope or upstream account',
    tags,
    roles: everyone,
    query: z.strictObject({
      status: z.enum(connectionStatuses).optional(),
      integration: integrationKey.optional(),
      scope: z.enum(['workspace', 'user']).optional(),
      account: text(500).optional(),
    }),
    response: z.object({ connections: z.array(connectionSchema) }),
    async handler({ query, caller }) {
      return {
        connections: await connectionStore.list(db, caller.workspace, visibilityOf(caller), query),
      };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id',
    summary: "A connection's metadata: status and reason, scope, owner, timestamps, token expiry, key age",
    tags,
    roles: everyone,
    params: idParams,
    response: oneConnection,
    errors: [404],
    async handler({ params, caller }) {
      return { connection: await visibleConnection(db, caller, params.id) };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id/events',
    summary: "A connection's lifecycle transitions: from, to, reason, actor, time",
    tags,
    roles: everyone,
    params: idParams,
    response: z.object({
      events: z.array(
        z.object({
          sequence: z.number().int(),
          from: z.enum(connectionStatuses).nullable(),
          to: z.enum(connectionStatuses),
          reason: z.string().nullable(),
          actor: z.string(),
          occurredAt: z.iso.datetime(),
        }),
      ),
    }),
    errors: [404],
    async handler({ params, caller }) {
      await visibleConnection(db, caller, params.id);
      return { events: await connectionStore.events(db, caller.workspace, params.id) };
    },
  });
  return registry.routes;
}
