// Change notices between the worker and the API, through Postgres LISTEN/NOTIFY: the worker announces a
// transition or a credential change in the same transaction that makes it; every API process listens, so a
// long-poll wakes at the transition and a credential cache drops what changed. A second channel carries the
// changes of agents' access policies, announced by the API process that makes one, so that every other
// drops the policies it cached (agent-policies/agent-policies.ts). Notices carry ids, status and reason
// words only. The listener reconnects when its connection drops, within a bound.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Db } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { RestartBudget, type RestartPolicy } from '../platform/restart-budget.js';

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

export const POLICY_CHANNEL = 'agent_policy_changes';

/** An agent's access policy was set or removed in a workspace. */
export interface PolicyChange {
  workspaceId: string;
  agentId: string;
}

/** Announces a policy change; inside a transaction, delivered only when the transaction commits. */
export async function publishPolicyChange(db: Db, change: PolicyChange): Promise<void> {
  await db.raw('select pg_notify(?, ?)', [POLICY_CHANNEL, JSON.stringify(change)]);
}

/** Reconnects after 0.5 s, 1 s, 2 s … up to 30 s; a 21st attempt within ten minutes gives up. */
export const listenerRestartPolicy: RestartPolicy = {
  maxAttempts: 20,
  windowMs: 600_000,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
};

/**
 * One LISTEN connection per process (both channels), re-established with backoff when it drops; emits
 * `change` events by connection id, `policy` events for policy changes, `resync` after a reconnection
 * (anything may have changed while deaf), and `failed` once when it could not reconnect within its budget
 * (the service then stops: see platform/service.ts).
 */
export class ConnectionChangeListener extends EventEmitter {
  private client?: pg.Client;
  private stopped = false;
  private wake?: () => void;
  private readonly budget: RestartBudget;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger?: Logger,
    options: { policy?: RestartPolicy } = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.budget = new RestartBudget(options.policy ?? listenerRestartPolicy);
  }

  async start(): Promise<void> {
    this.client = await this.connect();
  }

  private async connect(): Promise<pg.Client> {
    // Keep-alive probes notice a connection that died without a word (a dropped network path).
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (message) => {
      if (!message.payload) return;
      try {
        if (message.channel === CHANNEL) {
          const change = JSON.parse(message.payload) as ConnectionChange;
          this.emit(`change:${change.connectionId}`, change);
          this.emit('change', change);
        } else if (message.channel === POLICY_CHANNEL) {
          this.emit('policy', JSON.parse(message.payload) as PolicyChange);
        }
      } catch {
        this.logger?.warn({ channel: message.channel }, 'ignored a malformed change notice');
      }
    });
    client.on('error', (error) => this.lost(client, error.message));
    client.on('end', () => this.lost(client, 'the connection ended'));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}; listen ${POLICY_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  private lost(client: pg.Client, why: string): void {
    if (this.stopped || client !== this.client) return;
    this.client = undefined;
    this.logger?.warn({ err: why }, 'connection change listener lost its database connection');
    void client.end().catch(() => undefined);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let failure = 'not tried';
    for (;;) {
      const delay = this.budget.next();
      if (delay === undefined) {
        this.emit(
          'failed',
          new Error(
            `the connection change listener could not reconnect to Postgres: ${this.budget.describe()} spent; ` +
              `the last attempt failed: ${failure}`,
          ),
        );
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delay).unref();
      });
      this.wake = undefined;
      if (this.stopped) return;
      try {
        this.client = await this.connect();
        if (this.stopped) {
          await this.client.end().catch(() => undefined);
          return;
        }
        this.logger?.info('connection change listener reconnected');
        this.emit('resync');
        return;
      } catch (error) {
        failure = (error as Error).message;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.client?.end().catch(() => undefined);
  }
}
