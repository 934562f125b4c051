// The stored-token shape is one schema: what the activities seal is what the read path parses, and a shape
// either side would refuse is refused with the fields named, never a value.
import { parseStoredTokens, storedTokensText, type StoredTokens } from '../../connections/stored-tokens.js';

describe('stored OAuth tokens', () => {
  const tokens: StoredTokens = {
    accessToken: 'at-secret-1',
    tokenType: 'Bearer',
    refreshToken: 'rt-secret-1',
    expiresAt: 1_800_000_000_000,
    obtainedAt: 1_799_999_000_000,
    scopes: ['read', 'write'],
  };

  it('reads back exactly what was written, and tokens stored before obtainedAt existed', () => {
    expect(parseStoredTokens(storedTokensText(tokens))).toEqual(tokens);
    expect(parseStoredTokens(JSON.stringify({ accessToken: 'at-old', tokenType: 'bearer' }))).toEqual({
      accessToken: 'at-old',
      tokenType: 'bearer',
    });
  });

  it('refuses to write or read a malformed shape, naming the fields and never a value', () => {
    const malformed = { ...tokens, accessToken: '', expiresAt: 'soon' } as unknown as StoredTokens;
    expect(() => storedTokensText(malformed)).toThrow(
      'storing: stored OAuth tokens are malformed (accessToken, expiresAt)',
    );
    const unreadable = JSON.stringify({ tokenType: 'Bearer', refreshToken: 42 });
    expect(() => parseStoredTokens(unreadable)).toThrow(
      /^reading: stored OAuth tokens are malformed \(accessToken, refreshToken\)$/,
    );
    expect(() => parseStoredTokens('{"accessToken": "at-secret-2"')).toThrow(
      'reading: stored OAuth tokens are not JSON',
    );
    for (const attempt of [
      () => storedTokensText(malformed),
      () => parseStoredTokens('{"accessToken": "at-secret-2"'),
    ]) {
      expect(attempt).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret') }));
    }
  });
});
