// What the connection pages share: times as UTC text, a connection's and an integration's names, the fixed
// sentences announced after a form, and the page's query (a notice code and nothing else).
import { z } from 'zod';
import type { ConnectionMetadata } from '../connections/connection-store.js';
import type { Db } from '../db/database.js';
import type { Catalogue } from '../integrations/connection-provider.js';
import { integrationStore, type Integration } from '../integrations/integration-store.js';
import { html, type SafeHtml } from '../pages/html.js';

/** A time as people read it in every workspace (2026-12-02 18:30 UTC), machine-readable in `datetime`. */
export function utcTime(iso: string | null, none = 'Not known'): SafeHtml | string {
  if (iso === null) return none;
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  return html`<time datetime="${iso}">${text}</time>`;
}

/** An integration as the workspace has it (undefined: not configured) and the name people know it by. */
export async function integrationOf(
  deps: { db: Db; catalogue: Catalogue },
  workspaceId: string,
  key: string,
): Promise<{ integration: Integration | undefined; displayName: string; known: boolean }> {
  const integration = await integrationStore.get(deps.db, workspaceId, key);
  const entry = deps.catalogue(key);
  return {
    integration,
    displayName: entry?.displayName ?? integration?.provider.displayName ?? key,
    known: Boolean(integration || entry),
  };
}

/** A connection's title: its name, else "<display name> connection". */
export function connectionTitle(connection: Pick<ConnectionMetadata, 'name'>, displayName: string): string {
  return connection.name ?? `${displayName} connection`;
}

export const connectionPath = (id: string) => `/console/connections/${id}`;

/** What a form's 303 announces on the page it leads to, in fixed words. */
const notices = {
  refreshed: 'Refreshed. The status below is what the refresh left.',
  deactivated: 'Deactivated. Nothing can use this connection until it is activated again.',
  activated: 'Activated.',
  key_rotated: 'The new API key was verified and stored; the old one is destroyed.',
  dependent_registered: 'The dependent is registered.',
  dependent_removed: 'The dependent is removed.',
  deleted: 'The connection is deleted: its credentials are destroyed and its dependents were told.',
} as const;
export type NoticeCode = keyof typeof notices;

const noticeCodes = Object.keys(notices) as [NoticeCode, ...NoticeCode[]];

/** The query of a page a form leads to: one of the notices, or none. */
export const noticeQuery = z.strictObject({ notice: z.enum(noticeCodes).optional() });

export function noticeOf(code: NoticeCode | undefined): string | undefined {
  return code === undefined ? undefined : notices[code];
}
