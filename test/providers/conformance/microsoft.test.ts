// The Microsoft entry against a stand-in that answers as the identity platform documents: an id_token whose
// `iss` is the signed-in user's own tenant (not the `common` the request went to), rotating refresh tokens,
// the account read from Graph's /me. The old entry's fixed issuer refused every such id_token.
import { connectionStore } from '../../../connections/connection-store.js';
import { startLifecycleHarness, type LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureEntry,
  configureIntegration,
  connectAs,
  credentialsOf,
  eventsOf,
  loggedFailures,
  storedTokens,
} from '../../support/conformance/connect.js';
import { startMicrosoftStandIn, type MicrosoftAccount } from '../../support/conformance/microsoft.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';

const ada: MicrosoftAccount = {
  login: 'ada',
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
  displayName: 'Ada Lovelace',
  userPrincipalName: 'ada@contoso.onmicrosoft.com',
};
const grace: MicrosoftAccount = {
  login: 'grace',
  oid: '3f2c1b8e-5d7a-4e9b-a1c2-7b6d5e4f3a21',
  tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  displayName: 'Grace Hopper',
  userPrincipalName: 'grace@fabrikam.com',
};

describe('a Microsoft-like identity platform (per-tenant id_token issuer)', () => {
  let harness: LifecycleHarness;
  let microsoft: Awaited<ReturnType<typeof startMicrosoftStandIn>>;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    microsoft = await startMicrosoftStandIn({ accounts: [ada, grace] });
    await configureEntry(harness, 'microsoft', microsoft);
    await configureIntegration(
      harness,
      'microsoft-old',
      oldProvider('microsoft', microsoft.origin),
      microsoft,
    );
  });
  afterAll(async () => {
    await harness?.stop();
    await microsoft?.stop();
  });

  it('old entry: the code exchange fails on the id_token issuer, and the connection is failed', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'microsoft-old', 'ada');
    expect(microsoft.seen('/common/oauth2/v2.0/token', 'POST').length).toBeGreaterThanOrEqual(1);
    expect(snapshot).toMatchObject({ status: 'failed' });
    expect(loggedFailures(harness)).toContain(
      'code exchange: unexpected provider response (oauth_jwt_claim_comparison_failed)',
    );
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});
