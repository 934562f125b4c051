// The API-key side of a connection's lifecycle: a key submitted (the first or a rotation), verified and stored
// by an activity, and the probe that checks it on a schedule and notes its age and disuse. Workflow code, run
// inside connectionLifecycle; the key travels sealed and is opened only inside the activities.
import { isCancellation, setHandler } from '@temporalio/workflow';
import { identityFailure, isFailureType } from './failure-types.js';
import { keyNoticesDue, refuseIfFinal, refuseIfNotAuthType } from './lifecycle-state.js';
import { isTemporary, refuse, unwrap, type LifecycleRun } from './lifecycle-run.js';
import { submitApiKey } from './messages.js';

export function installApiKeyHandlers(run: LifecycleRun): void {
  const { connection, state, snapshot } = run;
  setHandler(
    submitApiKey,
    (request) =>
      run.serialized(async () => {
        refuse(refuseIfFinal(snapshot));
        try {
          const stored = await run
            .setupActivities()
            .storeApiKey({ connection, sealedKey: request.sealedKey });
          snapshot.keyCreatedAt = stored.keyCreatedAt;
          state.keyNotices = [];
          state.lastProbeAt = Date.now();
        } catch (error) {
          if (isCancellation(error)) throw error;
          const failure = unwrap(error);
          const identity = identityFailure(failure);
          if (identity) {
            if (snapshot.status === 'pending') {
              if (identity.existingConnectionId) {
                snapshot.existingConnectionId = identity.existingConnectionId;
              }
              await run.transition('failed', identity.reason, request.actor);
              return { ...snapshot };
            }
            // A rotation to a key of another account (or one another connection has) changes nothing.
            throw failure!;
          }
          const reason = isFailureType(failure?.type, 'CredentialRejected')
            ? 'provider_rejected'
            : isTemporary(error)
              ? 'provider_unavailable'
              : 'verification_failed';
          if (snapshot.status === 'pending') await run.transition('failed', reason, request.actor);
          // A rotation the provider refuses (or cannot answer) leaves the connection on its old key.
          else if (reason === 'provider_unavailable') {
            refuse({
              message: 'the provider could not be reached to verify the key',
              type: 'ProviderUnavailable',
            });
          } else refuse({ message: `the provider rejected the key (${reason})`, type: 'ProviderRejected' });
          return { ...snapshot };
        }
        if (snapshot.status !== 'active') {
          const reason = snapshot.status === 'pending' ? 'key_verified' : 'key_rotated';
          await run.transition('active', reason, request.actor);
        } else {
          await run.notice('key_rotated', request.actor);
        }
        return { ...snapshot };
      }, 'by-disconnect'),
    {
      validator: (_input) => {
        refuse(refuseIfNotAuthType(connection, 'api_key'));
        refuse(refuseIfFinal(snapshot));
      },
    },
  );
}

/** Asks the provider whether the key still works; a rejection expires the connection, an outage does not. */
export async function probeKey(run: LifecycleRun, actor: string): Promise<void> {
  const { connection, state } = run;
  state.lastProbeAt = Date.now();
  try {
    await run.backgroundActivities().probeApiKey({ connection });
  } catch (error) {
    if (isCancellation(error)) throw error;
    if (isFailureType(unwrap(error)?.type, 'CredentialRejected'))
      await run.transition('expired', 'key_rejected', actor);
    // Anything else (provider down) leaves the key as it is until the next probe.
    return;
  }
  const usage = await run.unstoppable(() => run.records().readKeyUsage({ connection }));
  for (const keyNotice of keyNoticesDue(state, run.settings, usage, Date.now())) {
    state.keyNotices.push(keyNotice);
    await run.notice(keyNotice, 'system');
  }
}
