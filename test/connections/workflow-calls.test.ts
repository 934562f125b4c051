// The gateway's Temporal calls under the command deadline: however the SDK reports a deadline that passed,
// the caller is told `unavailable` in the gateway's own words; an update the server hands back unprocessed
// is sent again, a bounded number of times. The SDK's errors are injected (a stand-in client, named as
// such): the real server produces the CANCELLED form and the unprocessed update only now and then.
import {
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { ConnectionError } from '../../connections/connection-errors.js';
import { sendUpdate, UNPROCESSED_UPDATE_ATTEMPTS, withDeadline } from '../../connections/workflow-calls.js';

/** A stand-in for the Temporal client whose every call fails as given. */
const failingClient = (error: Error) => ({ withDeadline: () => Promise.reject(error) }) as unknown as Client;

describe('calls under the command deadline', () => {
  it.each([
    ['a cancelled update call', new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled')],
    ['an update call past its deadline', new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded')],
  ])('tells %s as unavailable, without the SDK words', async (_name, error) => {
    const call = withDeadline(
      { temporal: failingClient(error), commandTimeoutMs: 5_000 },
      async () => 'never',
    );
    await expect(call).rejects.toBeInstanceOf(ConnectionError);
    await expect(call).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('did not answer within 5 s'),
    });
    await expect(call).rejects.not.toMatchObject({ message: expect.stringContaining(error.message) });
  });
});

describe('updates the server hands back unprocessed', () => {
  const refresh = { type: 'update', name: 'refreshConnection' } as UpdateDefinition<string, [string]>;
  /** The server's own rejection of an update whose workflow task was lost (injected: load makes it rarely). */
  const unprocessed = () =>
    new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({
        message: "Workflow Update is rejected because it wasn't processed by worker.",
        type: 'UnprocessedUpdate',
        nonRetryable: true,
      }),
    );

  /** A stand-in client (named as such) whose update calls answer, in turn, what `answers` gives. */
  const clientAnswering = (answers: Array<() => Promise<string>>) => {
    const sent: string[] = [];
    const temporal = {
      withDeadline: <T>(_deadline: number, call: () => Promise<T>) => call(),
      workflow: {
        getHandle: (workflowId: string) => ({
          executeUpdate: () => {
            sent.push(workflowId);
            return answers[sent.length - 1]!();
          },
        }),
      },
    } as unknown as Client;
    return { temporal, sent };
  };

  it('sends it again, and answers what the workflow then decided', async () => {
    const { temporal, sent } = clientAnswering([
      () => Promise.reject(unprocessed()),
      () => Promise.resolve('refreshed'),
    ]);
    const answer = await sendUpdate({ temporal, commandTimeoutMs: 5_000 }, 'c-1', refresh, 'admin-1');
    expect(answer).toBe('refreshed');
    expect(sent).toHaveLength(2);
  });

  it('gives up after a bounded number of attempts, as a conflict', async () => {
    const { temporal, sent } = clientAnswering(
      Array.from({ length: 10 }, () => () => Promise.reject(unprocessed())),
    );
    const call = sendUpdate({ temporal, commandTimeoutMs: 5_000 }, 'c-1', refresh, 'admin-1');
    await expect(call).rejects.toMatchObject({ code: 'conflict' });
    expect(sent).toHaveLength(UNPROCESSED_UPDATE_ATTEMPTS);
  });

  it('never sends again an update the workflow itself refused', async () => {
    const refused = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({ message: 'the connection is disconnected', type: 'NotActive' }),
    );
    const { temporal, sent } = clientAnswering([() => Promise.reject(refused)]);
    const call = sendUpdate({ temporal, commandTimeoutMs: 5_000 }, 'c-1', refresh, 'admin-1');
    await expect(call).rejects.toMatchObject({ code: 'conflict' });
    expect(sent).toHaveLength(1);
  });
});
