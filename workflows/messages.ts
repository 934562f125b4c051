// The connection workflow's messages, defined once and imported by the workflow, the API and agent code.
// Nothing here ever carries a credential in clear: API keys and authorization codes travel sealed.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Dependent, DependentKind } from '../dependents/dependent-store.js';
import type { SealedCredential } from '../vault/credential-vault.js';

import type { ConnectionStatus } from './connection-status.js';

export { connectionStatuses, type ConnectionStatus } from './connection-status.js';

export interface ConnectionRef {
  id: string;
  workspaceId: string;
  integration: string;
  scope: 'workspace' | 'user';
  /** The person a `user` connection belongs to. */
  ownerUserId?: string;
  authType: 'oauth2' | 'api_key';
  name?: string;
  createdBy: string;
  /**
   * The connection's parameters as checked at create (defaults applied), recorded with its row. Not secret;
   * absent in connections made before parameters existed.
   */
  params?: Record<string, string>;
}

export interface LifecycleSettings {
  setupTimeoutMs: number;
  refreshMarginMs: number;
  refreshJitterMs: number;
  /**
   * REFRESH_MIN_INTERVAL_SECONDS: the least time between two refresh attempts (doubled per failure in a row).
   * Optional: connections started before it existed use the workflow's default.
   */
  refreshFloorMs?: number;
  /** Workflows that may wait for one connection at once; MAX_WAITERS (1,000) when absent. */
  maxWaiters?: number;
  apiKeyProbeIntervalMs: number;
  keyRotationDueMs: number;
  keyUnusedMs: number;
  /** How long one provider call may take before the attempt is abandoned and retried. */
  activityTimeoutMs: number;
  /**
   * Dependents are told of health events by webhook: set by the worker when WEBHOOK_URL and WEBHOOK_SECRET
   * are, so that a service without a webhook starts no workflow for them. Absent in runs from before.
   */
  healthEvents?: boolean;
}

export interface ConnectionSnapshot {
  id: string;
  status: ConnectionStatus;
  reason?: string;
  tokenExpiresAt?: number;
  nextRefreshAt?: number;
  hasRefreshToken?: boolean;
  scopes?: string[];
  keyCreatedAt?: number;
  /** An authorization (setup or re-authorization) is waiting for its callback. */
  authorizationPending: boolean;
  /** The live connection that already has the upstream account, when the setup ended for that reason. */
  existingConnectionId?: string;
}

export interface Waiter {
  workflowId: string;
}

export interface ConnectionLifecycleInput {
  connection: ConnectionRef;
  /**
   * The settings of runs started before the worker-settings patch, kept for ever across continue-as-new.
   * Runs from it on read the worker's (the `lifecycleSettings` local activity) and are started without.
   */
  settings?: LifecycleSettings;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

export interface CarriedState {
  snapshot: ConnectionSnapshot;
  sequence: number;
  waiters: Waiter[];
  authorization?: PendingAuthorization;
  lastRefreshAt?: number;
  /** When the provider was last asked for a refresh, and how many attempts in a row have failed. */
  lastRefreshAttemptAt?: number;
  refreshFailures?: number;
  /** When the current tokens were obtained (their lifetime bounds the refresh margin). */
  tokenObtainedAt?: number;
  /** The provider's tokens live too briefly to be kept ahead of expiry; noted once per streak. */
  lifetimeTooShort?: boolean;
  lastProbeAt?: number;
  keyNotices: KeyNotice[];
}

export type KeyNotice = 'key_rotation_due' | 'key_unused';

export interface PendingAuthorization {
  setupId: string;
  expiresAt: number;
  /** The first setup fails the connection when it ends badly; a re-authorization leaves it as it was. */
  initial: boolean;
  /**
   * Where the browser goes after the callback (checked by the API when the setup began); null for nowhere.
   * Undefined only for an authorization begun before setups carried it: its target is in oauth_return_targets.
   */
  returnTo?: string | null;
}

export interface BeginAuthorizationRequest {
  actor: string;
  redirectUri: string;
  /** Scopes to ask for; the integration's configured scopes when absent. */
  scopes?: string[];
  /** Where the browser goes after the callback, already checked by the API (checkReturnTo). */
  returnTo?: string;
}

export interface BeginAuthorizationResult {
  authorizationUrl: string;
  expiresAt: number;
}

export interface AuthorizationCallback {
  state: string;
  /** The authorization code, sealed by the API (purpose `authorization_code`). */
  sealedCode?: SealedCredential;
  iss?: string;
  /** The provider's error (e.g. `access_denied`), when it sent one instead of a code. */
  error?: string;
}

/** What completeAuthorization answers: how the connection stands, and where the browser goes next. */
export interface AuthorizationOutcome {
  snapshot: ConnectionSnapshot;
  /** As PendingAuthorization.returnTo: undefined for an authorization begun before setups carried it. */
  returnTo?: string | null;
  /**
   * Why the authorization ended without new tokens (`exchange_failed`, `account_mismatch`, ...), whether or
   * not it changed the connection's status; with the connection that already has the account, if that is why.
   */
  ended?: { reason: string; existingConnectionId?: string };
}

export interface SubmitApiKeyRequest {
  actor: string;
  /** The key, sealed by the API (purpose `api_key_submission`). */
  sealedKey: SealedCredential;
}

export interface ActorRequest {
  actor: string;
  reason?: string;
  /** When the caller asked (epoch ms): a refresh completed since then answers a refresh request. */
  requestedAt?: number;
}

/** Removes the connection: refused while it has dependents unless forced; then they are notified. */
export interface DisconnectRequest extends ActorRequest {
  /**
   * Remove even while dependents remain (they are notified). A request without it comes from an API that
   * checked the dependents itself before asking, and counts as forced.
   */
  force?: boolean;
}

/** One notice recorded for a dependent of a removed connection (a dependent_notifications row). */
export interface DependentNoticeRecord {
  kind: DependentKind;
  dependentId: string;
  event: string;
  /** When the notice was recorded (ISO 8601). */
  createdAt: string;
}

export type DisconnectResult =
  | { disconnected: true; snapshot: ConnectionSnapshot; notified: DependentNoticeRecord[] }
  /** Not forced and dependents remain: nothing changed. The dependents as the API lists them. */
  | { disconnected: false; dependents: Dependent[] };

export const beginAuthorization = defineUpdate<BeginAuthorizationResult, [BeginAuthorizationRequest]>(
  'beginAuthorization',
);
export const completeAuthorization = defineUpdate<AuthorizationOutcome, [AuthorizationCallback]>(
  'completeAuthorization',
);
export const submitApiKey = defineUpdate<ConnectionSnapshot, [SubmitApiKeyRequest]>('submitApiKey');
export const refreshConnection = defineUpdate<ConnectionSnapshot, [ActorRequest]>('refresh');
export const deactivateConnection = defineUpdate<ConnectionSnapshot, [ActorRequest]>('deactivate');
export const activateConnection = defineUpdate<ConnectionSnapshot, [ActorRequest]>('activate');
export const disconnectConnection = defineUpdate<DisconnectResult, [DisconnectRequest]>('disconnect');

export const getConnection = defineQuery<ConnectionSnapshot>('getConnection');

/** Sent by a waiting workflow to the connection workflow. */
export const registerWaiter = defineSignal<[Waiter]>('registerWaiter');
/** Sent by the connection workflow to each registered waiter. */
export const connectionReady = defineSignal<[{ connectionId: string }]>('connectionReady');
export const connectionUnavailable =
  defineSignal<[{ connectionId: string; status: ConnectionStatus; reason?: string }]>(
    'connectionUnavailable',
  );

export function connectionWorkflowId(connectionId: string): string {
  return `connection-${connectionId}`;
}

export const CONNECTIONS_TASK_QUEUE = 'connections';
