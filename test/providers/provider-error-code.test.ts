// One rule for repeating a provider's error code, used by the callback page, the OAuth client's failure
// messages and the example agent's failure types.
import {
  repeatableErrorCode,
  safeErrorCode,
  UNREPEATABLE_ERROR_CODE,
} from '../../providers/provider-error.js';

describe("a provider's error code", () => {
  it('is repeated when it looks like a registered code', () => {
    for (const code of [
      'access_denied',
      'invalid_scope',
      'temporarily_unavailable',
      'err.token-v2',
      'x'.repeat(64),
    ]) {
      expect(repeatableErrorCode(code)).toBe(code);
      expect(safeErrorCode(code)).toBe(code);
    }
  });

  it('is replaced by one stand-in word when it is markup, a line break, upper case, empty, too long or no string', () => {
    for (const code of [
      '<script>x</script>',
      'Bearer rt-secret-9\r\nX-Injected: 1',
      'Invalid',
      '',
      'x'.repeat(65),
      42,
      undefined,
    ]) {
      expect(repeatableErrorCode(code)).toBeUndefined();
      expect(safeErrorCode(code)).toBe(UNREPEATABLE_ERROR_CODE);
    }
    expect(UNREPEATABLE_ERROR_CODE).toBe('invalid_error');
  });
});
