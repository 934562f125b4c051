// Where the OAuth callback may send the browser: this service's own paths and origin, and the origins the
// operator allows (RETURN_TO_ORIGINS, e.g. the platform's front end); nothing else, however it is spelled.
import { checkReturnTo } from '../../connections/return-to.js';
import { loadConfig } from '../../config/config.js';

const publicUrl = 'https://connections.example.com';
const allowed = ['https://app.example.com'];

describe('checkReturnTo', () => {
  it.each([
    '/settings/connections',
    'https://connections.example.com/done',
    'https://app.example.com/integrations?tab=mine',
  ])('accepts %s', (target) => {
    expect(checkReturnTo(target, publicUrl, allowed)).toBeTruthy();
  });

  it.each([
    'https://evil.example.com/',
    'https://app.example.com.evil.example/',
    'https://user@app.example.com/',
    'http://app.example.com/',
    '//app.example.com/',
    '/\\evil.example.com',
    'javascript:alert(1)',
  ])('refuses %s', (target) => {
    expect(() => checkReturnTo(target, publicUrl, allowed)).toThrow(/returnTo must be/);
  });

  it('allows no other origin unless configured', () => {
    expect(() => checkReturnTo('https://app.example.com/x', publicUrl)).toThrow(/returnTo must be/);
  });

  it('reads the allowed origins from RETURN_TO_ORIGINS, refusing a malformed one by name', () => {
    expect(
      loadConfig({ RETURN_TO_ORIGINS: 'https://app.example.com/path, http://localhost:5173' })
        .returnToOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(() => loadConfig({ RETURN_TO_ORIGINS: 'not-a-url' })).toThrow(/RETURN_TO_ORIGINS/);
  });
});
