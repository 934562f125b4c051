// The provider authorization URL of an OAuth state, kept for the service's start URL
// (`/v1/oauth/start?state=…`) in `oauth_states.authorization_url_box`: AES-256-GCM under a key derived from
// the state itself (HKDF-SHA256, info "authorization-url"). The table holds only the state's hash, so the
// box opens only for whoever holds the state: a copy of the table gives neither the state nor the URL.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'authorization-url';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyOf(state: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(state, 'utf8'), Buffer.alloc(0), INFO, 32));
}

/** The URL sealed for the state: base64url of iv, tag and ciphertext. */
export function sealAuthorizationUrl(state: string, authorizationUrl: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(state), iv);
  const sealed = Buffer.concat([cipher.update(authorizationUrl, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The URL in the box, or undefined when the box is not this state's (or was altered). */
export function openAuthorizationUrl(state: string, box: string): string | undefined {
  const bytes = Buffer.from(box, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(state), bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}

/** The state an authorization URL carries (every authorization URL the service builds has one). */
export function stateOf(authorizationUrl: string): string {
  const state = new URL(authorizationUrl).searchParams.get('state');
  if (!state) throw new Error('the authorization URL carries no state');
  return state;
}

/** The service's start URL of an authorization: it binds the browser, then sends it to the provider. */
export function startUrl(publicUrl: string, authorizationUrl: string): string {
  const url = new URL(`${publicUrl.replace(/\/+$/, '')}/v1/oauth/start`);
  url.searchParams.set('state', stateOf(authorizationUrl));
  return url.toString();
}
