// The Salesforce entry against a stand-in that answers as Salesforce documents the web-server flow: no
// `expires_in`, the org's `instance_url` and identity URL in the token answer, RFC 7009 revocation.
import { connectionStore } from '../../../connections/connection-store.js';
import { startLifecycleHarness, type LifecycleHarness } from '../../support/lifecycle.js';
import { configureIntegration, connectAs } from '../../support/conformance/connect.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';
import {
  salesforceId,
  startSalesforceStandIn,
  type SalesforceAccount,
} from '../../support/conformance/salesforce.js';

const ada: SalesforceAccount = {
  login: 'ada',
  orgId: salesforceId('00D'),
  userId: salesforceId('005'),
  username: 'ada@engines.example',
  name: 'Ada Lovelace',
};

describe('a Salesforce-like org (no expires_in, instance_url)', () => {
  let harness: LifecycleHarness;
  let salesforce: Awaited<ReturnType<typeof startSalesforceStandIn>>;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    salesforce = await startSalesforceStandIn({ accounts: [ada] });
    await configureIntegration(
      harness,
      'salesforce-old',
      oldProvider('salesforce', salesforce.origin),
      salesforce,
    );
  });
  afterAll(async () => {
    await harness?.stop();
    await salesforce?.stop();
  });

  it('old entry: connects, but with no lifetime no refresh is ever scheduled and instance_url is dropped', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'salesforce-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    expect(snapshot.tokenExpiresAt).toBeUndefined();
    expect(snapshot.nextRefreshAt).toBeUndefined();
    const shown = await connectionStore.get(harness.db, harness.workspaceId, connectionId);
    expect(shown).toMatchObject({ status: 'active', tokenExpiresAt: null, nextRefreshAt: null });
    expect(JSON.stringify(shown)).not.toContain(salesforce.origin);
  });
});
