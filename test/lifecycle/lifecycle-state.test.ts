// The lifecycle's rules as plain functions (workflows/lifecycle-state.ts, workflows/connection-status.ts):
// which status may follow which, what each guard refuses, the deadline arithmetic, the key notices and the
// waiters' admission. No Temporal server: the module imports nothing from Temporal, so it is called directly.
import {
  connectionStatuses,
  endsReadinessWait,
  isFinalStatus,
  isUnavailableStatus,
  type ConnectionStatus,
} from '../../workflows/connection-status.js';
import { isFailureType } from '../../workflows/failure-types.js';
import {
  admitWaiter,
  applyTokenTimes,
  deadlines,
  earliestRefreshAttempt,
  initialState,
  isDue,
  keyNoticesDue,
  MAX_WAITERS,
  nextDeadline,
  recordMetadata,
  refuseIfFinal,
  refuseIfNoAuthorization,
  refuseIfNotAuthType,
  refuseTransition,
  refuseUnlessStatus,
  transitionAllowed,
  transitions,
} from '../../workflows/lifecycle-state.js';
import type { ConnectionRef, LifecycleSettings } from '../../workflows/messages.js';

const settings: LifecycleSettings = {
  setupTimeoutMs: 60_000,
  refreshMarginMs: 10_000,
  refreshJitterMs: 1_000,
  refreshFloorMs: 2_000,
  apiKeyProbeIntervalMs: 5_000,
  keyRotationDueMs: 100_000,
  keyUnusedMs: 50_000,
  activityTimeoutMs: 5_000,
};
const oauth: ConnectionRef = {
  id: 'c-1',
  workspaceId: 'ws',
  integration: 'i',
  scope: 'workspace',
  authType: 'oauth2',
  createdBy: 'admin-1',
};
const apiKey: ConnectionRef = { ...oauth, authType: 'api_key' };

function stateIn(status: ConnectionStatus) {
  const state = initialState('c-1');
  state.snapshot.status = status;
  state.sequence = 1;
  return state;
}

describe('the transitions table', () => {
  it('says which status may follow which', () => {
    expect(transitions).toEqual({
      pending: ['pending', 'active', 'failed', 'disconnected'],
      active: ['active', 'inactive', 'expired', 'disconnected'],
      inactive: ['active', 'disconnected'],
      expired: ['active', 'expired', 'disconnected'],
      failed: ['disconnected'],
      disconnected: [],
    });
    expect(Object.keys(transitions).sort()).toEqual([...connectionStatuses].sort());
  });

  it('starts every connection pending, and refuses what the table does not allow', () => {
    expect(transitionAllowed(null, 'pending')).toBe(true);
    expect(transitionAllowed(null, 'active')).toBe(false);
    expect(transitionAllowed('failed', 'active')).toBe(false);
    expect(transitionAllowed('inactive', 'expired')).toBe(false);
    expect(refuseTransition('active', 'expired')).toBeUndefined();
    expect(refuseTransition('disconnected', 'active')).toEqual({
      message: 'a disconnected connection cannot become active',
      type: 'InvalidState',
    });
    expect(refuseTransition(null, 'failed')?.message).toBe('a new connection cannot become failed');
  });
});

describe('the status sets', () => {
  it('end the workflow on failed and disconnected only', () => {
    expect(connectionStatuses.filter(isFinalStatus)).toEqual(['failed', 'disconnected']);
  });

  it('end a readiness wait on active, or as unavailable on expired, failed and disconnected', () => {
    expect(connectionStatuses.filter(endsReadinessWait)).toEqual([
      'active',
      'expired',
      'failed',
      'disconnected',
    ]);
    expect(connectionStatuses.filter(isUnavailableStatus)).toEqual(['expired', 'failed', 'disconnected']);
  });
});

describe('the guards', () => {
  it('refuse every command but a disconnect on a final connection', () => {
    expect(refuseIfFinal(stateIn('active').snapshot)).toBeUndefined();
    expect(refuseIfFinal(stateIn('expired').snapshot)).toBeUndefined();
    expect(refuseIfFinal(stateIn('failed').snapshot)).toEqual({
      message: 'the connection is failed',
      type: 'InvalidState',
    });
    expect(refuseIfFinal(stateIn('disconnected').snapshot)?.message).toBe('the connection is disconnected');
  });

  it('refuse a command for the other way of authenticating', () => {
    expect(refuseIfNotAuthType(oauth, 'oauth2')).toBeUndefined();
    expect(refuseIfNotAuthType(apiKey, 'oauth2')?.message).toBe('this connection does not use OAuth');
    expect(refuseIfNotAuthType(oauth, 'api_key')?.message).toBe('this connection does not use an API key');
  });

  it('refuse a callback no authorization waits for, as AuthorizationRefused', () => {
    const state = stateIn('pending');
    expect(refuseIfNoAuthorization(state)).toEqual({
      message: 'no authorization is waiting for a callback',
      type: 'AuthorizationRefused',
    });
    state.authorization = { setupId: 's', expiresAt: 1, initial: true };
    expect(refuseIfNoAuthorization(state)).toBeUndefined();
  });

  it('allow deactivation of an active connection and activation of an inactive one only', () => {
    expect(refuseUnlessStatus(stateIn('active').snapshot, 'active', 'deactivated')).toBeUndefined();
    expect(refuseUnlessStatus(stateIn('expired').snapshot, 'active', 'deactivated')?.message).toBe(
      'only an active connection can be deactivated (it is expired)',
    );
    expect(refuseUnlessStatus(stateIn('active').snapshot, 'inactive', 'activated')?.message).toBe(
      'only an inactive connection can be activated (it is active)',
    );
  });

  it('compare failure types by their declared names', () => {
    expect(isFailureType('CredentialRejected', 'CredentialRejected')).toBe(true);
    expect(isFailureType(undefined, 'CredentialRejected')).toBe(false);
    expect(isFailureType('Superseded', 'Superseded')).toBe(true);
  });
});

describe('the deadlines', () => {
  it('run the setup deadline while an authorization waits, whatever the status', () => {
    const state = stateIn('pending');
    state.authorization = { setupId: 's', expiresAt: 9_000, initial: true };
    expect(deadlines(state, oauth, settings, 0)).toEqual({ setup: 9_000 });
    expect(nextDeadline(deadlines(state, oauth, settings, 0))).toBe(9_000);
  });

  it('refresh an active OAuth connection at its schedule, or at expiry without a refresh token', () => {
    const state = stateIn('active');
    state.snapshot.nextRefreshAt = 5_000;
    state.snapshot.tokenExpiresAt = 8_000;
    state.snapshot.hasRefreshToken = true;
    expect(deadlines(state, oauth, settings, 0)).toEqual({ refresh: 5_000 });
    state.snapshot.hasRefreshToken = false;
    expect(deadlines(state, oauth, settings, 0)).toEqual({ refresh: 8_000 });
    state.snapshot.status = 'inactive';
    expect(nextDeadline(deadlines(state, oauth, settings, 0))).toBeUndefined();
  });

  it('probe an active key one interval after the last probe (or from now)', () => {
    const state = stateIn('active');
    expect(deadlines(state, apiKey, settings, 1_000)).toEqual({ probe: 6_000 });
    state.lastProbeAt = 500;
    expect(deadlines(state, apiKey, settings, 1_000)).toEqual({ probe: 5_500 });
    state.authorization = { setupId: 's', expiresAt: 3_000, initial: false };
    expect(nextDeadline(deadlines(state, apiKey, settings, 1_000))).toBe(3_000);
  });

  it('are due at their time, not before', () => {
    expect(isDue(5, 4)).toBe(false);
    expect(isDue(5, 5)).toBe(true);
    expect(isDue(undefined, 5)).toBe(false);
  });
});

describe('token times', () => {
  it('schedule the refresh by the policy, asking for one random number', () => {
    const state = stateIn('active');
    let draws = 0;
    const keptAhead = applyTokenTimes(state, { expiresAt: 100_000, obtainedAt: 0 }, settings, {
      now: 0,
      random: () => (draws++, 0.5),
      refreshPolicy: () => true,
    });
    expect(keptAhead).toBe(true);
    expect(draws).toBe(1);
    expect(state.snapshot).toMatchObject({ tokenExpiresAt: 100_000, nextRefreshAt: 100_000 - 10_500 });
    expect(state.tokenObtainedAt).toBe(0);
  });

  it('schedule by margin and jitter alone for runs from before the policy, and nothing without expiry', () => {
    const state = stateIn('active');
    applyTokenTimes(state, { expiresAt: 100_000 }, settings, {
      now: 0,
      random: () => 0,
      refreshPolicy: () => false,
    });
    expect(state.snapshot.nextRefreshAt).toBe(90_000);
    let asked = 0;
    const policy = () => (asked++, true);
    expect(applyTokenTimes(state, {}, settings, { now: 0, random: Math.random, refreshPolicy: policy })).toBe(
      true,
    );
    expect(state.snapshot.nextRefreshAt).toBeUndefined();
    expect(asked).toBe(0);
  });

  it('space refresh attempts by the floor, doubled per failure in a row', () => {
    const state = stateIn('active');
    expect(earliestRefreshAttempt(state, settings)).toBe(-Infinity);
    state.lastRefreshAttemptAt = 10_000;
    expect(earliestRefreshAttempt(state, settings)).toBe(12_000);
    state.refreshFailures = 2;
    expect(earliestRefreshAttempt(state, settings)).toBe(18_000);
  });

  it('record the next refresh only while active, and the key rotation date from the key', () => {
    const state = stateIn('active');
    state.snapshot.nextRefreshAt = 5;
    state.snapshot.keyCreatedAt = 1_000;
    expect(recordMetadata(state.snapshot, 'active', settings)).toEqual({
      tokenExpiresAt: null,
      nextRefreshAt: 5,
      keyCreatedAt: 1_000,
      keyRotationDueAt: 101_000,
    });
    expect(recordMetadata(state.snapshot, 'expired', settings).nextRefreshAt).toBeNull();
  });
});

describe('key notices', () => {
  it('note a key due for rotation and unused once each', () => {
    const state = stateIn('active');
    state.snapshot.keyCreatedAt = 0;
    expect(keyNoticesDue(state, settings, {}, 10_000)).toEqual([]);
    expect(keyNoticesDue(state, settings, {}, 60_000)).toEqual(['key_unused']);
    expect(keyNoticesDue(state, settings, { lastUsedAt: 55_000 }, 100_000)).toEqual(['key_rotation_due']);
    state.keyNotices = ['key_unused'];
    expect(keyNoticesDue(state, settings, {}, 100_000)).toEqual(['key_rotation_due']);
  });
});

describe('waiters', () => {
  it('are answered at once when the connection is settled, else registered once, up to the limit', () => {
    expect(admitWaiter(stateIn('active'), { workflowId: 'w' }, { bounded: true })).toBe('answer-now');
    expect(admitWaiter(stateIn('failed'), { workflowId: 'w' }, { bounded: true })).toBe('answer-now');
    const state = stateIn('pending');
    expect(admitWaiter(state, { workflowId: 'w' }, { bounded: true, maxWaiters: 2 })).toBe('registered');
    state.waiters.push({ workflowId: 'w' });
    expect(admitWaiter(state, { workflowId: 'w' }, { bounded: true, maxWaiters: 2 })).toBe('known');
    state.waiters.push({ workflowId: 'v' });
    expect(admitWaiter(state, { workflowId: 'x' }, { bounded: true, maxWaiters: 2 })).toBe('too-many');
    expect(admitWaiter(state, { workflowId: 'w' }, { bounded: false })).toBe('registered');
    expect(admitWaiter(stateIn('inactive'), { workflowId: 'w' }, { bounded: true })).toBe('registered');
    expect(MAX_WAITERS).toBe(1_000);
  });
});
