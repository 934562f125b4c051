// The gateway's Temporal calls under the command deadline: however the SDK reports a deadline that passed,
// the caller is told `unavailable` in the gateway's own words. The SDK's errors are injected (a stand-in
// client, named as such): the real server produces the CANCELLED form only now and then.
import { WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { ConnectionError } from '../../connections/connection-errors.js';
import { withDeadline } from '../../connections/workflow-calls.js';

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
