// connectionLifecycle: one workflow per connection, the only writer of its status. Every command (setup,
// callback, refresh, activation, disconnect) and every timer (refresh before expiry, setup deadline, key
// probe) runs through one queue, so two refreshes of one connection never race. Activities seal and store
// credentials themselves and return metadata only: no credential ever appears in this workflow's history.
import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  TimeoutFailure,
  log,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  activateConnection,
  beginAuthorization,
  completeAuthorization,
  connectionReady,
  connectionUnavailable,
  deactivateConnection,
  disconnectConnection,
  getConnection,
  refreshConnection,
  registerWaiter,
  submitApiKey,
  type CarriedState,
  type ConnectionLifecycleInput,
  type ConnectionSnapshot,
  type ConnectionStatus,
  type KeyNotice,
} from './messages.js';
import { ConnectionStatus as ConnectionStatusKey } from './search-attributes.js';

/**
 * A run continues as new once its history reaches this many events, or earlier when the server suggests it.
 * Well under Temporal's own suggestion (4,096 events by default), so that the events a run still adds while
 * its handlers finish never take it past 4,096, and a replay of any run stays short.
 */
export const HISTORY_EVENT_BUDGET = 2_000;

/** Transitions, schedules and key-usage reads run as local activities from this patch on. */
export const LOCAL_RECORDS_PATCH = 'local-activity-records';

function timeToContinueAsNew(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= HISTORY_EVENT_BUDGET;
}

/** Error types activities throw for answers that retrying cannot change. */
export const permanentErrorTypes = [
  'CredentialRejected',
  'ProviderRejected',
  'AuthorizationRefused',
  'CredentialMissing',
  'IntegrationUnavailable',
];

export async function connectionLifecycle(input: ConnectionLifecycleInput): Promise<ConnectionSnapshot> {
  const { connection, settings } = input;
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: settings.activityTimeoutMs,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: permanentErrorTypes,
    },
  });

  // The code exchange retries a provider outage for a bounded time, then the setup fails: a person is waiting.
  const exchangeActs = proxyActivities<Activities>({
    startToCloseTimeout: settings.activityTimeoutMs,
    scheduleToCloseTimeout: settings.activityTimeoutMs * 4,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      nonRetryableErrorTypes: permanentErrorTypes,
    },
  });

  // The read model's own writes (a transition, a new schedule) and the key-usage read touch Postgres only:
  // they run as local activities, in the worker, without a round trip through the server for each, which
  // makes a setup or a refresh about one activity's worth of Temporal work instead of three. Histories
  // written before ran them as ordinary activities and still replay that way (the patch marker).
  const localRecords = proxyLocalActivities<Activities>({
    startToCloseTimeout: '10 seconds',
    localRetryThreshold: '10 seconds',
    retry: {
      initialInterval: '200 milliseconds',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: permanentErrorTypes,
    },
  });
  const records = () => (patched(LOCAL_RECORDS_PATCH) ? localRecords : acts);

  // Revocation retries a provider outage inside the activity, from memory, so it may run longer.
  const disconnectActs = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: settings.activityTimeoutMs * 2,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: permanentErrorTypes,
    },
  });

  const state: CarriedState = input.carried ?? {
    snapshot: { id: connection.id, status: 'pending', authorizationPending: false },
    sequence: 0,
    waiters: [],
    keyNotices: [],
  };
  const snapshot = state.snapshot;
  /** Set whenever something changes what the main loop should wait for. */
  let wake = false;

  // One command at a time: handlers and timers queue here, in arrival order.
  let queue: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  }

  async function transition(to: ConnectionStatus, reason: string | undefined, actor: string): Promise<void> {
    const from = state.sequence === 0 ? null : snapshot.status;
    state.sequence += 1;
    await records().recordTransition({
      connection,
      sequence: state.sequence,
      from,
      to,
      reason: reason ?? null,
      actor,
      at: Date.now(),
      metadata: metadata(to),
    });
    snapshot.status = to;
    snapshot.reason = reason;
    upsertSearchAttributes([{ key: ConnectionStatusKey, value: to }]);
    wake = true;
    await notifyWaiters();
  }

  /** An event that is not a change of status (a key rotated, a key due for rotation or unused). */
  async function notice(reason: string, actor: string): Promise<void> {
    state.sequence += 1;
    await records().recordTransition({
      connection,
      sequence: state.sequence,
      from: snapshot.status,
      to: snapshot.status,
      reason,
      actor,
      at: Date.now(),
      metadata: metadata(snapshot.status),
    });
  }

  function metadata(status: ConnectionStatus) {
    return {
      tokenExpiresAt: snapshot.tokenExpiresAt ?? null,
      nextRefreshAt: status === 'active' ? (snapshot.nextRefreshAt ?? null) : null,
      keyCreatedAt: snapshot.keyCreatedAt ?? null,
      keyRotationDueAt:
        snapshot.keyCreatedAt !== undefined ? snapshot.keyCreatedAt + settings.keyRotationDueMs : null,
    };
  }

  async function notifyWaiters(): Promise<void> {
    const status = snapshot.status;
    if (status !== 'active' && status !== 'failed' && status !== 'expired' && status !== 'disconnected')
      return;
    const waiters = state.waiters.splice(0);
    await Promise.all(waiters.map((waiter) => notify(waiter.workflowId)));
  }

  async function notify(workflowId: string): Promise<void> {
    const handle = getExternalWorkflowHandle(workflowId);
    try {
      if (snapshot.status === 'active') await handle.signal(connectionReady, { connectionId: connection.id });
      else {
        await handle.signal(connectionUnavailable, {
          connectionId: connection.id,
          status: snapshot.status,
          reason: snapshot.reason,
        });
      }
    } catch (error) {
      // A waiter that has already finished cannot be told; that is its business, not the connection's.
      log.warn('could not signal a waiting workflow', { workflowId, error: (error as Error).message });
    }
  }

  function scheduleRefresh(expiresAt: number | undefined): void {
    snapshot.tokenExpiresAt = expiresAt;
    snapshot.nextRefreshAt =
      expiresAt === undefined
        ? undefined
        : Math.max(
            Date.now(),
            expiresAt - settings.refreshMarginMs - Math.floor(Math.random() * settings.refreshJitterMs),
          );
    wake = true;
  }

  function isFinal(): boolean {
    return snapshot.status === 'failed' || snapshot.status === 'disconnected';
  }

  function refuse(message: string, type = 'InvalidState'): never {
    throw ApplicationFailure.create({ message, type, nonRetryable: true });
  }

  // The connection's first record is queued before any handler can queue work that refers to it.
  const recorded =
    state.sequence === 0
      ? serialized(() => transition('pending', 'setup_started', connection.createdBy))
      : undefined;

  // --- OAuth setup and re-authorization ---------------------------------------------------------------

  setHandler(
    beginAuthorization,
    (request) =>
      serialized(async () => {
        if (connection.authType !== 'oauth2') refuse('this connection does not use OAuth');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
        const setupId = uuid4();
        const expiresAt = Date.now() + settings.setupTimeoutMs;
        let authorizationUrl: string;
        try {
          ({ authorizationUrl } = await acts.createAuthorizationRequest({
            connection,
            setupId,
            redirectUri: request.redirectUri,
            scopes: request.scopes,
            expiresAt,
          }));
        } catch (error) {
          // A first setup that cannot even start must not leave a connection pending forever.
          if (snapshot.status === 'pending' && !state.authorization) {
            await transition('failed', 'setup_failed', request.actor);
          }
          throw unwrap(error) ?? error;
        }
        state.authorization = { setupId, expiresAt, initial: snapshot.status === 'pending' };
        snapshot.authorizationPending = true;
        wake = true;
        return { authorizationUrl, expiresAt };
      }),
    {
      validator: (_input) => {
        if (connection.authType !== 'oauth2') refuse('this connection does not use OAuth');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      },
    },
  );

  setHandler(
    completeAuthorization,
    (callback) =>
      serialized(async () => {
        const pending = state.authorization;
        if (!pending) refuse('no authorization is waiting for a callback', 'AuthorizationRefused');
        if (callback.error) {
          // Only the current authorization's own state may end it, and only once.
          await acts.consumeAuthorizationState({
            connection,
            setupId: pending.setupId,
            state: callback.state,
          });
          await endAuthorization(
            callback.error === 'access_denied' ? 'access_denied' : 'provider_error',
            'provider',
          );
          return { ...snapshot };
        }
        let result;
        try {
          result = await exchangeActs.exchangeAuthorizationCode({
            connection,
            setupId: pending.setupId,
            state: callback.state,
            sealedCode: callback.sealedCode,
            iss: callback.iss,
          });
        } catch (error) {
          const failure = unwrap(error);
          if (failure?.type === 'AuthorizationRefused') throw failure; // a bad callback changes nothing
          await endAuthorization(
            failure?.type === 'CredentialRejected' ? 'exchange_refused' : 'exchange_failed',
            'provider',
          );
          return { ...snapshot };
        }
        state.authorization = undefined;
        snapshot.authorizationPending = false;
        snapshot.hasRefreshToken = result.hasRefreshToken;
        snapshot.scopes = result.scopes;
        state.lastRefreshAt = Date.now();
        scheduleRefresh(result.expiresAt);
        await transition('active', snapshot.status === 'pending' ? 'authorized' : 'reauthorized', 'provider');
        return { ...snapshot };
      }),
    {
      validator: (_input) => {
        if (!state.authorization)
          refuse('no authorization is waiting for a callback', 'AuthorizationRefused');
      },
    },
  );

  /** An authorization that ends without tokens: the first setup fails the connection, a re-authorization does not. */
  async function endAuthorization(reason: string, actor: string): Promise<void> {
    const pending = state.authorization;
    state.authorization = undefined;
    snapshot.authorizationPending = false;
    wake = true;
    if (pending?.initial && snapshot.status === 'pending') await transition('failed', reason, actor);
  }

  // --- API keys -------------------------------------------------------------------------------------

  setHandler(
    submitApiKey,
    (request) =>
      serialized(async () => {
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
        try {
          const stored = await acts.storeApiKey({ connection, sealedKey: request.sealedKey });
          snapshot.keyCreatedAt = stored.keyCreatedAt;
          state.keyNotices = [];
          state.lastProbeAt = Date.now();
        } catch (error) {
          const failure = unwrap(error);
          const reason = failure?.type === 'CredentialRejected' ? 'provider_rejected' : 'verification_failed';
          if (snapshot.status === 'pending') await transition('failed', reason, request.actor);
          // A rotation the provider refuses leaves the connection on its old key.
          else refuse(`the provider rejected the key (${reason})`, 'ProviderRejected');
          return { ...snapshot };
        }
        if (snapshot.status !== 'active') {
          await transition(
            'active',
            snapshot.status === 'pending' ? 'key_verified' : 'key_rotated',
            request.actor,
          );
        } else {
          await notice('key_rotated', request.actor);
        }
        return { ...snapshot };
      }),
    {
      validator: (_input) => {
        if (connection.authType !== 'api_key') refuse('this connection does not use an API key');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      },
    },
  );

  // --- refresh --------------------------------------------------------------------------------------

  async function refresh(actor: string, onDemand: boolean): Promise<void> {
    if (snapshot.status !== 'active' && !(onDemand && snapshot.status === 'expired')) return;
    if (connection.authType === 'api_key') {
      await probeKey(actor);
      return;
    }
    if (!snapshot.hasRefreshToken) {
      if (!onDemand && snapshot.tokenExpiresAt !== undefined && Date.now() >= snapshot.tokenExpiresAt) {
        await transition('expired', 'token_expired_without_refresh_token', 'system');
      }
      return;
    }
    // Retry temporary provider failures for as long as the current access token still works.
    const tokenLeftMs = (snapshot.tokenExpiresAt ?? Date.now()) - Date.now();
    const refreshActs = proxyActivities<Activities>({
      startToCloseTimeout: settings.activityTimeoutMs,
      scheduleToCloseTimeout: Math.max(tokenLeftMs, settings.activityTimeoutMs * 2),
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: '5 minutes',
        nonRetryableErrorTypes: permanentErrorTypes,
      },
    });
    try {
      const result = await refreshActs.refreshAccessToken({ connection });
      state.lastRefreshAt = Date.now();
      snapshot.hasRefreshToken = result.hasRefreshToken;
      if (result.scopes) snapshot.scopes = result.scopes;
      scheduleRefresh(result.expiresAt);
      if (snapshot.status === 'expired') await transition('active', 'refreshed', actor);
      else await records().recordSchedule({ connection, metadata: metadata(snapshot.status) });
    } catch (error) {
      const failure = unwrap(error);
      if (failure?.type === 'CredentialRejected') await transition('expired', 'refresh_rejected', 'provider');
      else if (isTemporary(error)) await transition('expired', 'refresh_failed_until_expiry', 'system');
      else await transition('expired', 'refresh_failed', 'system');
    }
  }

  async function probeKey(actor: string): Promise<void> {
    state.lastProbeAt = Date.now();
    try {
      await acts.probeApiKey({ connection });
    } catch (error) {
      const failure = unwrap(error);
      if (failure?.type === 'CredentialRejected') await transition('expired', 'key_rejected', actor);
      // Anything else (provider down) leaves the key as it is until the next probe.
      return;
    }
    await noteKeyAge();
  }

  async function noteKeyAge(): Promise<void> {
    const usage = await records().readKeyUsage({ connection });
    const notices: KeyNotice[] = [];
    const now = Date.now();
    if (snapshot.keyCreatedAt !== undefined && now >= snapshot.keyCreatedAt + settings.keyRotationDueMs)
      notices.push('key_rotation_due');
    const lastUse = usage.lastUsedAt ?? snapshot.keyCreatedAt;
    if (lastUse !== undefined && now - lastUse >= settings.keyUnusedMs) notices.push('key_unused');
    for (const keyNotice of notices) {
      if (state.keyNotices.includes(keyNotice)) continue;
      state.keyNotices.push(keyNotice);
      await notice(keyNotice, 'system');
    }
  }

  setHandler(refreshConnection, (request) =>
    serialized(async () => {
      if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      // A refresh that completed after this request was made already answers it: concurrent requests
      // share one token request.
      const answered =
        request.requestedAt !== undefined &&
        state.lastRefreshAt !== undefined &&
        state.lastRefreshAt >= request.requestedAt;
      if (!answered) await refresh(request.actor, true);
      return { ...snapshot };
    }),
  );

  // --- deactivate, activate, disconnect -------------------------------------------------------------

  function requireStatus(required: ConnectionStatus, action: string): void {
    if (snapshot.status !== required) {
      refuse(`only an ${required} connection can be ${action} (it is ${snapshot.status})`);
    }
  }

  setHandler(
    deactivateConnection,
    (request) =>
      serialized(async () => {
        requireStatus('active', 'deactivated');
        await transition('inactive', request.reason ?? 'deactivated', request.actor);
        return { ...snapshot };
      }),
    { validator: (_input) => requireStatus('active', 'deactivated') },
  );

  setHandler(
    activateConnection,
    (request) =>
      serialized(async () => {
        requireStatus('inactive', 'activated');
        await transition('active', request.reason ?? 'activated', request.actor);
        // A token that came due while the connection was inactive is refreshed at once.
        if (snapshot.nextRefreshAt !== undefined && snapshot.nextRefreshAt <= Date.now())
          await refresh('system', false);
        return { ...snapshot };
      }),
    { validator: (_input) => requireStatus('inactive', 'activated') },
  );

  setHandler(disconnectConnection, (request) =>
    serialized(async () => {
      if (snapshot.status === 'disconnected') return { ...snapshot };
      state.authorization = undefined;
      snapshot.authorizationPending = false;
      await disconnectActs.destroyCredentials({ connection, revoke: true });
      snapshot.tokenExpiresAt = undefined;
      snapshot.nextRefreshAt = undefined;
      await transition('disconnected', request.reason ?? 'disconnected', request.actor);
      return { ...snapshot };
    }),
  );

  // --- waiters and queries --------------------------------------------------------------------------

  setHandler(registerWaiter, (waiter) => {
    if (snapshot.status === 'pending' || snapshot.status === 'inactive') {
      state.waiters.push(waiter);
    } else {
      void notify(waiter.workflowId);
    }
  });

  setHandler(getConnection, () => ({ ...snapshot }));

  // --- the main loop: timers --------------------------------------------------------------------------

  await recorded;

  while (!isFinal()) {
    const now = Date.now();
    const deadlines: number[] = [];
    if (state.authorization) deadlines.push(state.authorization.expiresAt);
    if (
      snapshot.status === 'active' &&
      connection.authType === 'oauth2' &&
      snapshot.nextRefreshAt !== undefined
    ) {
      deadlines.push(
        snapshot.hasRefreshToken
          ? snapshot.nextRefreshAt
          : (snapshot.tokenExpiresAt ?? snapshot.nextRefreshAt),
      );
    }
    if (snapshot.status === 'active' && connection.authType === 'api_key') {
      deadlines.push((state.lastProbeAt ?? now) + settings.apiKeyProbeIntervalMs);
    }
    const next = deadlines.length ? Math.min(...deadlines) : undefined;
    wake = false;
    const woken =
      next === undefined
        ? await condition(() => wake || isFinal() || timeToContinueAsNew())
        : await condition(() => wake || isFinal() || timeToContinueAsNew(), Math.max(next - now, 1));
    if (isFinal()) break;

    if (timeToContinueAsNew()) {
      await condition(allHandlersFinished);
      await queue;
      return continueAsNew<typeof connectionLifecycle>({ connection, settings, carried: state });
    }
    if (woken) continue;

    await serialized(async () => {
      const at = Date.now();
      if (state.authorization && at >= state.authorization.expiresAt)
        await endAuthorization('setup_timed_out', 'system');
      if (snapshot.status !== 'active') return;
      if (connection.authType === 'oauth2' && snapshot.nextRefreshAt !== undefined) {
        const due = snapshot.hasRefreshToken
          ? snapshot.nextRefreshAt
          : (snapshot.tokenExpiresAt ?? snapshot.nextRefreshAt);
        if (at >= due) await refresh('system', false);
      }
      if (
        connection.authType === 'api_key' &&
        at >= (state.lastProbeAt ?? at) + settings.apiKeyProbeIntervalMs
      ) {
        await probeKey('system');
      }
    });
  }

  await condition(allHandlersFinished);
  await queue;
  return { ...snapshot };
}

/** A provider outage that outlasted the token: the retries ran out of time, not of hope. */
function isTemporary(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  if (error.cause instanceof TimeoutFailure) return true;
  const type = unwrap(error)?.type;
  return type === 'ProviderUnavailable' || type === 'ProviderRateLimited' || type === 'ProviderCallFailed';
}

function unwrap(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return undefined;
}
