// What a connection fills its provider's URL templates with (providers/templates.ts): the parameters given at
// connect and the non-secret data its provider answered, read from its row. Never a credential: the row holds
// none.
import type { Db } from '../db/database.js';

export interface TemplateValues {
  params: Record<string, string>;
  /** Non-secret data the provider answered (`connections.provider_data`, where it is recorded). */
  providerData: Record<string, unknown>;
}

/** The connection's parameters and provider data; an unknown connection has none. */
export async function templateValues(db: Db, connectionId: string): Promise<TemplateValues> {
  const row:
    { params: Record<string, string> | null; provider_data: Record<string, unknown> | null } | undefined =
    await db('connections').where({ id: connectionId }).first('params', 'provider_data');
  return { params: row?.params ?? {}, providerData: row?.provider_data ?? {} };
}
