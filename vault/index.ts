import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { AwsKmsKeyProvider, LocalKeyProvider, type KeyProvider } from './key-provider.js';

export async function createKeyProvider(keys: Config['keys'], logger: Logger): Promise<KeyProvider> {
  if (keys.provider === 'aws-kms') {
    return new AwsKmsKeyProvider(keys.keyId, {
      region: keys.region,
      ...(keys.endpoint ? { endpoint: keys.endpoint } : {}),
    });
  }
  return LocalKeyProvider.open(keys.keyFile, logger);
}

export { CredentialVault, DecryptionError, type SealedCredential } from './credential-vault.js';
export type { KeyProvider } from './key-provider.js';
export type { EncryptionContext, CredentialPurpose } from './encryption-context.js';
