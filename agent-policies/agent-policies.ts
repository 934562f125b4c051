// The access policies as the read path and the people who set them use them: the policy that applies to a
// caller (PolicyLookup, on every proxied call and token), and every change, which goes through here so that
// what is cached is dropped. The read path asks Postgres once per agent per TTL at most: effective policies
// are cached per process (bounded, least recently used go first). A change drops its workspace's entries
// here at once, and in every other API process when its notice arrives (connections/connection-changes.ts,
// sent in the change's own transaction, so delivered only once it is committed); the listener's `resync`
// (it was deaf for a while) drops everything. The TTL bounds how long a lost notice can leave an old policy
// in force.
import type { EventEmitter } from 'node:events';
import { publishPolicyChange, type PolicyChange } from '../connections/connection-changes.js';
import type { Db } from '../db/database.js';
import {
  normalisePolicy,
  type AccessPolicy,
  type EffectivePolicy,
  type PolicyInput,
  type PolicyLookup,
} from './access-policy.js';
import { policyStore } from './policy-store.js';

export interface AgentPoliciesOptions {
  /** How long an effective policy is reused without a notice; default 30 s. */
  ttlMs?: number;
  /** How many effective policies are held at most; the least recently used go first. Default 10,000. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  workspaceId: string;
  policy: EffectivePolicy;
  expiresAt: number;
}

const none: EffectivePolicy = { source: 'none' };

export class AgentPolicies implements PolicyLookup {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /**
   * Moves on with every drop: a read that began before one does not cache what it read, which may be the
   * policy as it was before the change.
   */
  private generation = 0;

  constructor(
    private readonly db: Db,
    options: AgentPoliciesOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Drops a workspace's entries on each of its policy notices, and everything on `resync`. Returns a detach. */
  follow(changes: EventEmitter): () => void {
    const onPolicy = (change: PolicyChange) => this.dropWorkspace(change.workspaceId);
    const onResync = () => this.clear();
    changes.on('policy', onPolicy);
    changes.on('resync', onResync);
    return () => {
      changes.off('policy', onPolicy);
      changes.off('resync', onResync);
    };
  }

  async effectiveFor(caller: { workspace: string; sub: string; role: string }): Promise<EffectivePolicy> {
    if (caller.role !== 'agent') return none;
    const key = JSON.stringify([caller.workspace, caller.sub]);
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.policy;
    }
    const generation = this.generation;
    const policy = await this.read(caller.workspace, caller.sub);
    if (generation === this.generation) {
      this.entries.delete(key);
      this.entries.set(key, { workspaceId: caller.workspace, policy, expiresAt: this.now() + this.ttlMs });
      while (this.entries.size > this.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
      }
    }
    return policy;
  }

  /** Effective policies held now. */
  get size(): number {
    return this.entries.size;
  }

  get(workspaceId: string, agentId: string): Promise<AccessPolicy | undefined> {
    return policyStore.get(this.db, workspaceId, agentId);
  }

  list(workspaceId: string): Promise<AccessPolicy[]> {
    return policyStore.list(this.db, workspaceId);
  }

  async put(
    workspaceId: string,
    agentId: string,
    input: PolicyInput,
    actor: string,
  ): Promise<{ policy: AccessPolicy; created: boolean }> {
    try {
      return await this.db.transaction(async (tx) => {
        const put = await policyStore.put(tx, workspaceId, agentId, normalisePolicy(input), actor);
        await publishPolicyChange(tx, { workspaceId, agentId });
        return put;
      });
    } finally {
      // After the commit (and after a failure too: what was cached may be stale either way).
      this.dropWorkspace(workspaceId);
    }
  }

  async remove(workspaceId: string, agentId: string): Promise<boolean> {
    try {
      return await this.db.transaction(async (tx) => {
        const removed = await policyStore.remove(tx, workspaceId, agentId);
        if (removed) await publishPolicyChange(tx, { workspaceId, agentId });
        return removed;
      });
    } finally {
      this.dropWorkspace(workspaceId);
    }
  }

  /** Forgets every effective policy. */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  /**
   * Forgets a workspace's effective policies: one agent's change can change its neighbours' too (the first
   * policy of a workspace puts every other agent under the default, the last one's removal frees them).
   */
  private dropWorkspace(workspaceId: string): void {
    this.generation++;
    for (const [key, entry] of this.entries) {
      if (entry.workspaceId === workspaceId) this.entries.delete(key);
    }
  }

  private async read(workspaceId: string, agentId: string): Promise<EffectivePolicy> {
    const own = await policyStore.get(this.db, workspaceId, agentId);
    if (own) return { source: 'agent', policy: { integrations: own.integrations } };
    return (await policyStore.hasPolicies(this.db, workspaceId)) ? { source: 'default' } : none;
  }
}
