// A fake implementation of the activities the connection workflow calls, for the time-skipping tests of its
// timers: no provider, database or vault, only a record of what each call was given and the workflow time it
// was scheduled at (the test server's clock, which the tests skip). Tokens it "obtains" live as long as the
// test says; a provider outage is a failure it raises on purpose. It never stands in for the real activities
// in a test of what they do.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { TransitionRecord } from '../../activities/records.js';
import type { LifecycleSettings } from '../../workflows/messages.js';
import { fastSettings } from './lifecycle.js';
import { withDeadline } from './deadline.js';

type Called =
  | 'recordTransition'
  | 'recordSchedule'
  | 'createAuthorizationRequest'
  | 'exchangeAuthorizationCode'
  | 'consumeAuthorizationState'
  | 'refreshAccessToken'
  | 'storeApiKey'
  | 'probeApiKey'
  | 'readKeyUsage'
  | 'destroyCredentials'
  | 'lifecycleSettings';
export type LifecycleActivities = Pick<Activities, Called>;

export interface FakeCall {
  name: Called;
  input: unknown;
  /** Workflow time (epoch ms) the call was made at: the transition's own time, else the attempt's schedule. */
  at: number;
}

export class FakeLifecycleActivities {
  readonly calls: FakeCall[] = [];
  /** Lifetime of the tokens a code exchange or a refresh returns. */
  tokenLifetimeMs = 3_600_000;
  hasRefreshToken = true;
  /** The worker's lifecycle settings, as its configuration would give them (read by the workflow at run time). */
  settings: LifecycleSettings = { ...fastSettings };
  /** `down`: every refresh fails as a provider outage would (retried by the workflow's policy). */
  provider: 'up' | 'down' = 'up';
  private readonly watchers = new Set<() => void>();

  /** The calls of one activity, in order. */
  callsOf(name: Called): FakeCall[] {
    return this.calls.filter((call) => call.name === name);
  }

  /** The transitions and notices recorded, in order. */
  transitions(): TransitionRecord[] {
    return this.callsOf('recordTransition').map((call) => call.input as TransitionRecord);
  }

  /** Resolves with the calls once `done` holds for them; fails at the deadline, saying what it waited for. */
  until(what: string, done: (calls: FakeCall[]) => boolean): Promise<FakeCall[]> {
    let check = () => {};
    const reached = new Promise<FakeCall[]>((resolve) => {
      check = () => {
        if (done(this.calls)) resolve([...this.calls]);
      };
    });
    this.watchers.add(check);
    check();
    return withDeadline(reached, () => `${what} (calls: ${this.names()})`).finally(() =>
      this.watchers.delete(check),
    );
  }

  /** Resolves with the `count`th call of an activity (1-based), once it is made. */
  async nth(name: Called, count: number): Promise<FakeCall> {
    const calls = await this.until(`call ${count} of ${name}`, () => this.callsOf(name).length >= count);
    return calls.filter((call) => call.name === name)[count - 1]!;
  }

  /** Resolves with the first recorded transition or notice with this reason. */
  async recorded(reason: string): Promise<TransitionRecord> {
    await this.until(`record of ${reason}`, () => this.transitions().some((t) => t.reason === reason));
    return this.transitions().find((t) => t.reason === reason)!;
  }

  private names(): string {
    return this.calls.map((call) => call.name).join(', ') || 'none';
  }

  private record(
    name: Called,
    input: unknown,
    at = Context.current().info.currentAttemptScheduledTimestampMs,
  ) {
    this.calls.push({ name, input, at });
    for (const watcher of [...this.watchers]) watcher();
    return at;
  }

  private tokens(obtainedAt: number) {
    return {
      expiresAt: obtainedAt + this.tokenLifetimeMs,
      obtainedAt,
      hasRefreshToken: this.hasRefreshToken,
      scopes: ['api:read'],
    };
  }

  implementation(): LifecycleActivities {
    return {
      lifecycleSettings: async () => ({ ...this.settings }),
      recordTransition: async (record) => {
        this.record('recordTransition', record, record.at);
      },
      recordSchedule: async (input) => {
        this.record('recordSchedule', input);
      },
      createAuthorizationRequest: async (input) => {
        this.record('createAuthorizationRequest', input);
        return { authorizationUrl: `https://provider.invalid/authorize?setup=${input.setupId}` };
      },
      exchangeAuthorizationCode: async (input) =>
        this.tokens(this.record('exchangeAuthorizationCode', input)),
      consumeAuthorizationState: async (input) => {
        this.record('consumeAuthorizationState', input);
      },
      refreshAccessToken: async (input) => {
        const at = this.record('refreshAccessToken', input);
        if (this.provider === 'down') {
          throw ApplicationFailure.retryable('the provider is down (injected)', 'ProviderUnavailable');
        }
        return this.tokens(at);
      },
      storeApiKey: async (input) => ({ keyCreatedAt: this.record('storeApiKey', input) }),
      probeApiKey: async (input) => {
        this.record('probeApiKey', input);
        return { verified: true };
      },
      readKeyUsage: async (input) => {
        this.record('readKeyUsage', input);
        return { lastUsedAt: undefined };
      },
      destroyCredentials: async (input) => {
        this.record('destroyCredentials', input);
        return { revoked: true };
      },
    };
  }
}
