// What catalogue entries share, spelled once; an entry states only where it differs.
export const oauth2 = { authType: 'oauth2', issParameterSupported: false, scopeSeparator: ' ' } as const;

export const bearerApiKey = {
  authType: 'api_key',
  injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
} as const;
