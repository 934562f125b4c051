// The property names that mark a value as a secret wherever it sits: log redaction replaces what is under
// them at any depth, and the vault registers the credential values it finds under them. One list, compared
// without case, `-` or `_` (so `access_token`, `accessToken` and `Access-Token` are one name).
// It must never be consulted with a value, only with a name.

const exact = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'code',
  'plaintext',
  'ciphertext',
  'wrappedkey',
  'privatekey',
  'credential',
  'credentials',
  'sealedkey',
  'sealedcode',
]);
// Anything named like these is one: accessToken, refreshToken, idToken, csrfToken, clientSecret, apiKey …
const suffixes = ['token', 'secret', 'password', 'passwd', 'apikey', 'verifier', 'envelope'];

export function isSecretKey(name: string): boolean {
  const normal = name.toLowerCase().replace(/[-_]/g, '');
  return exact.has(normal) || suffixes.some((suffix) => normal.endsWith(suffix));
}
