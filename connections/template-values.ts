// What a connection fills its provider's URL templates with (providers/templates.ts): the parameters given at
// connect and the non-secret data its provider answered, read from its row. Never a credential: the row holds
// none.
import type { Db } from '../db/database.js';

export interface TemplateValues {
  params: Record<string, string>;
  /** Non-secret data the provider answered (`connections.provider_data`, where it is recorded). */
  providerData: Record<string, unknown>;
}

/**
 * The whole row is read, so that provider data is found where it is recorded (a column added with the
 * upstream account) without naming a column that may not exist yet; an unknown connection has none.
 */
export async function templateValues(db: Db, connectionId: string): Promise<TemplateValues> {
  const row: Record<string, unknown> | undefined = await db('connections')
    .where({ id: connectionId })
    .first();
  return {
    params: (row?.params as Record<string, string> | undefined) ?? {},
    providerData: (row?.provider_data as Record<string, unknown> | null | undefined) ?? {},
  };
}
