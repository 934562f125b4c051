// The access policies as the read path and the people who set them use them: the policy that applies to a
// caller (PolicyLookup, on every proxied call and token), and every change, which goes through here so that
// what is cached is dropped.
import type { Db } from '../db/database.js';
import {
  normalisePolicy,
  type AccessPolicy,
  type EffectivePolicy,
  type PolicyInput,
  type PolicyLookup,
} from './access-policy.js';
import { policyStore } from './policy-store.js';

export class AgentPolicies implements PolicyLookup {
  constructor(private readonly db: Db) {}

  async effectiveFor(caller: { workspace: string; sub: string; role: string }): Promise<EffectivePolicy> {
    if (caller.role !== 'agent') return { source: 'none' };
    const own = await policyStore.get(this.db, caller.workspace, caller.sub);
    if (own) return { source: 'agent', policy: own };
    return (await policyStore.hasPolicies(this.db, caller.workspace))
      ? { source: 'default' }
      : { source: 'none' };
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
    return policyStore.put(this.db, workspaceId, agentId, normalisePolicy(input), actor);
  }

  async remove(workspaceId: string, agentId: string): Promise<boolean> {
    return policyStore.remove(this.db, workspaceId, agentId);
  }
}
