// The dependents of a connection (what relies on it), for the connection's readers and the agents and
// admins that register them: list, register or update, remove. A dependent is refused on a disconnected
// connection; what a disconnect tells them is the connection's delete (connections/routes.ts). Registering
// and removing are dependent-registration.ts's, which the console's connection page calls too.
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { idSchema, RouteList, type Route } from '../api/routes.js';
import { visibleConnection } from '../connections/access.js';
import { everyone, idParams, tags } from '../connections/connection-schemas.js';
import type { Db } from '../db/database.js';
import {
  dependentDetailsSchema,
  dependentIdSchema,
  registerDependent,
  removeDependent,
} from './dependent-registration.js';
import { dependentKinds, dependentStore } from './dependent-store.js';

const dependentWriters: Role[] = ['owner', 'admin', 'agent'];
const dependentSchema = z.object({
  kind: z.enum(dependentKinds),
  id: z.string(),
  name: z.string().nullable(),
  callbackUrl: z.string().nullable(),
  registeredBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const dependentParams = z.strictObject({
  id: idSchema,
  kind: z.enum(dependentKinds),
  dependentId: dependentIdSchema,
});

export function dependentRoutes({ db }: { db: Db }): Route[] {
  const registry = new RouteList();

  registry.add({
    method: 'get',
    path: '/v1/connections/:id/dependents',
    summary: 'What relies on this connection',
    tags,
    roles: everyone,
    params: idParams,
    response: z.object({ dependents: z.array(dependentSchema) }),
    errors: [404],
    async handler({ params, caller }) {
      await visibleConnection(db, caller, params.id);
      return {
        dependents: await dependentStore.list(db, {
          workspaceId: caller.workspace,
          connectionId: params.id,
        }),
      };
    },
  });

  registry.add({
    method: 'put',
    path: '/v1/connections/:id/dependents/:kind/:dependentId',
    summary: 'Register (or update) a dependent of this connection',
    tags,
    roles: dependentWriters,
    params: dependentParams,
    body: dependentDetailsSchema,
    response: z.object({ dependent: dependentSchema }),
    status: [201, 200],
    errors: [404, 409],
    async handler({ params, body, caller, res }) {
      const { dependent, created } = await registerDependent(db, caller, params.id, {
        kind: params.kind,
        id: params.dependentId,
        ...body,
      });
      res.status(created ? 201 : 200);
      res.json({ dependent });
    },
  });

  registry.add({
    method: 'delete',
    path: '/v1/connections/:id/dependents/:kind/:dependentId',
    summary: 'Remove a dependent of this connection',
    tags,
    roles: dependentWriters,
    params: dependentParams,
    errors: [404],
    async handler({ params, caller }) {
      await removeDependent(db, caller, params.id, { kind: params.kind, id: params.dependentId });
    },
  });
  return registry.routes;
}
