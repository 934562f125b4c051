// Change notices between the worker and the API, through Postgres LISTEN/NOTIFY: the worker announces a
// transition or a credential change in the same transaction that makes it; every API process listens, so a
// long-poll wakes at the transition and a credential cache drops what changed. Notices carry ids, status
// and reason words only.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Db } from '../db/database.js';
import type { Logger } from '../logging/logger.js';

export const CHANNEL = 'connection_changes';

export interface ConnectionChange {
  connectionId: string;
  /** `status`: a transition (with the new status); `credential`: a credential was replaced or destroyed. */
  kind: 'status' | 'credential';
  status?: string;
  /** A transition's previous status (null when the connection was created), so counts can move with it. */
  from?: string | null;
  /** The reason word of a transition (`access_denied`, `refresh_rejected`, …), when it has one. */
  reason?: string;
}

/** Announces a change; inside a transaction, Postgres delivers it only when the transaction commits. */
export async function publishConnectionChange(db: Db, change: ConnectionChange): Promise<void> {
  await db.raw('select pg_notify(?, ?)', [CHANNEL, JSON.stringify(change)]);
}

/** One LISTEN connection per process, re-established when it drops; emits `change` events by connection id. */
export class ConnectionChangeListener extends EventEmitter {
  private client?: pg.Client;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger?: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const change = JSON.parse(message.payload) as ConnectionChange;
        this.emit(`change:${change.connectionId}`, change);
        this.emit('change', change);
      } catch {
        this.logger?.warn('ignored a malformed connection change notice');
      }
    });
    client.on('error', (error) => {
      this.logger?.warn({ err: error.message }, 'connection change listener lost its database connection');
      void this.restart();
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.client = client;
  }

  private async restart(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
    while (!this.stopped) {
      try {
        await this.start();
        // Anything may have changed while deaf: tell listeners to re-read.
        this.emit('resync');
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }
}
