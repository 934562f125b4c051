// The OAuth side of a connection's lifecycle: its setup and re-authorization (the authorization request, the
// callback, the setup deadline) and the refresh of its tokens. Workflow code, run inside connectionLifecycle;
// the activities it calls seal and store the tokens themselves, so no token ever passes through here.
import { isCancellation, patched, setHandler, uuid4 } from '@temporalio/workflow';
import { identityFailure, isFailureType } from './failure-types.js';
import {
  earliestRefreshAttempt,
  isDue,
  refuseIfFinal,
  refuseIfNoAuthorization,
  refuseIfNotAuthType,
} from './lifecycle-state.js';
import { isTemporary, refuse, unwrap, type LifecycleRun } from './lifecycle-run.js';
import { REFRESH_POLICY_PATCH } from './patches.js';
import { beginAuthorization, completeAuthorization } from './messages.js';

export function installOAuthHandlers(run: LifecycleRun): void {
  const { connection, state, snapshot } = run;

  const mayBeginAuthorization = () => {
    refuse(refuseIfNotAuthType(connection, 'oauth2'));
    refuse(refuseIfFinal(snapshot));
  };
  setHandler(
    beginAuthorization,
    (request) =>
      run.serialized(async () => {
        mayBeginAuthorization();
        const setupId = uuid4();
        const expiresAt = Date.now() + run.settings.setupTimeoutMs;
        let authorizationUrl: string;
        try {
          ({ authorizationUrl } = await run.setupActivities().createAuthorizationRequest({
            connection,
            setupId,
            redirectUri: request.redirectUri,
            scopes: request.scopes,
            expiresAt,
          }));
        } catch (error) {
          if (isCancellation(error)) throw error;
          // A first setup that cannot even start must not leave a connection pending forever.
          if (snapshot.status === 'pending' && !state.authorization) {
            await run.transition('failed', 'setup_failed', request.actor);
          }
          throw unwrap(error) ?? error;
        }
        state.authorization = {
          setupId,
          expiresAt,
          initial: snapshot.status === 'pending',
          returnTo: request.returnTo ?? null,
        };
        snapshot.authorizationPending = true;
        run.wake = true;
        return { authorizationUrl, expiresAt };
      }, 'by-disconnect'),
    { validator: (_input) => mayBeginAuthorization() },
  );

  const mayCompleteAuthorization = () => refuse(refuseIfNoAuthorization(state));
  setHandler(
    completeAuthorization,
    (callback) =>
      run.serialized(async () => {
        mayCompleteAuthorization();
        const pending = state.authorization!;
        const outcome = () => ({ snapshot: { ...snapshot }, returnTo: pending.returnTo });
        const acts = run.setupActivities();
        if (callback.error) {
          // Only the current authorization's own state may end it, and only once.
          await acts.consumeAuthorizationState({
            connection,
            setupId: pending.setupId,
            state: callback.state,
          });
          await endAuthorization(
            run,
            callback.error === 'access_denied' ? 'access_denied' : 'provider_error',
            'provider',
          );
          return outcome();
        }
        let result;
        try {
          result = await acts.exchangeAuthorizationCode({
            connection,
            setupId: pending.setupId,
            state: callback.state,
            sealedCode: callback.sealedCode,
            iss: callback.iss,
          });
        } catch (error) {
          if (isCancellation(error)) throw error;
          const failure = unwrap(error);
          // A bad callback changes nothing.
          if (failure && isFailureType(failure.type, 'AuthorizationRefused')) throw failure;
          const ended: { reason: string; existingConnectionId?: string } = identityFailure(failure) ?? {
            reason: isFailureType(failure?.type, 'CredentialRejected')
              ? 'exchange_refused'
              : 'exchange_failed',
          };
          if (ended.existingConnectionId && pending.initial) {
            snapshot.existingConnectionId = ended.existingConnectionId;
          }
          await endAuthorization(run, ended.reason, 'provider');
          return { ...outcome(), ended };
        }
        state.authorization = undefined;
        snapshot.authorizationPending = false;
        snapshot.hasRefreshToken = result.hasRefreshToken;
        snapshot.scopes = result.scopes;
        state.lastRefreshAt = Date.now();
        state.refreshFailures = 0;
        const keptAhead = run.scheduleRefresh(result);
        await run.transition(
          'active',
          snapshot.status === 'pending' ? 'authorized' : 'reauthorized',
          'provider',
        );
        await run.noteLifetime(keptAhead);
        return outcome();
      }, 'by-disconnect'),
    { validator: (_input) => mayCompleteAuthorization() },
  );
}

/** An authorization that ends without tokens: the first setup fails the connection, a re-authorization does not. */
export async function endAuthorization(run: LifecycleRun, reason: string, actor: string): Promise<void> {
  const pending = run.state.authorization;
  run.state.authorization = undefined;
  run.snapshot.authorizationPending = false;
  run.wake = true;
  if (pending?.initial && run.snapshot.status === 'pending') await run.transition('failed', reason, actor);
}

/** Replaces the tokens of an active (or, asked for, expired) OAuth connection; a refusal expires it. */
export async function refreshTokens(run: LifecycleRun, actor: string, onDemand: boolean): Promise<void> {
  const { state, snapshot } = run;
  if (!snapshot.hasRefreshToken) {
    if (!onDemand && isDue(snapshot.tokenExpiresAt, Date.now())) {
      await run.transition('expired', 'token_expired_without_refresh_token', 'system');
    }
    return;
  }
  if (patched(REFRESH_POLICY_PATCH)) {
    // However often a refresh is asked for, the provider is asked at most once per floor (doubled for each
    // failure in a row): a token that lives briefly, or a caller that insists, never makes a loop of it.
    const earliest = earliestRefreshAttempt(state, run.settings);
    if (Date.now() < earliest) {
      // A timer due before the floor (the connection was inactive, say) waits for it rather than spinning.
      if (!onDemand) {
        snapshot.nextRefreshAt = earliest;
        run.wake = true;
      }
      return;
    }
    state.lastRefreshAttemptAt = Date.now();
  }
  const tokenLeftMs = (snapshot.tokenExpiresAt ?? Date.now()) - Date.now();
  try {
    const result = await run
      .refreshActivities(tokenLeftMs)
      .refreshAccessToken({ connection: run.connection });
    state.lastRefreshAt = Date.now();
    state.refreshFailures = 0;
    snapshot.hasRefreshToken = result.hasRefreshToken;
    if (result.scopes) snapshot.scopes = result.scopes;
    const keptAhead = run.scheduleRefresh(result);
    if (snapshot.status === 'expired') await run.transition('active', 'refreshed', actor);
    else await run.recordSchedule();
    await run.noteLifetime(keptAhead);
  } catch (error) {
    if (isCancellation(error)) throw error;
    state.refreshFailures = (state.refreshFailures ?? 0) + 1;
    if (isFailureType(unwrap(error)?.type, 'CredentialRejected'))
      await run.transition('expired', 'refresh_rejected', 'provider');
    else if (isTemporary(error)) await run.transition('expired', 'refresh_failed_until_expiry', 'system');
    else await run.transition('expired', 'refresh_failed', 'system');
  }
}
