// The operator credential, for what crosses workspaces (the payload codec server): a JWT of its own, HS256
// under OPERATOR_JWT_SECRET (or the embedded default's `DATA_DIR/operator-secret`), with header `typ`
// `operator+jwt`, `aud` connections-operator, `role` operator, a `sub` naming the operator, and an `exp`
// within AUTH_JWT_MAX_LIFETIME_SECONDS. It is never verified with the workspace secret or JWKS, and the
// workspace verifier refuses its audience, so neither kind of token can pass for the other: a workspace's
// owner or admin is never an operator by that role. Requests are refused before their body is read. Where a
// browser cannot send a token (Temporal UI's codec fetches), the console's operator session may stand in.
import type { Request, RequestHandler } from 'express';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { DEFAULT_JWT_MAX_LIFETIME_SECONDS, OPERATOR_AUDIENCE, type Config } from '../config/config.js';
import { bearerToken, checkLifetime, loadSecret } from './auth.js';
import { ApiError } from './errors.js';

const OPERATOR_TYP = 'operator+jwt';

export const operatorClaimsSchema = z.object({
  sub: z.string().min(1).max(200),
  role: z.literal('operator'),
});
export type OperatorClaims = z.infer<typeof operatorClaimsSchema>;
export type OperatorVerifier = (token: string) => Promise<OperatorClaims>;

export function loadOperatorSecret(operator: Config['operator']): Promise<Uint8Array> {
  return loadSecret(operator.secret, operator.secretFile);
}

export async function mintOperatorToken(
  secret: Uint8Array,
  sub: string,
  options: { expiresIn?: string; maxLifetimeSeconds?: number; jti?: string } = {},
): Promise<string> {
  const claims = operatorClaimsSchema.parse({ sub, role: 'operator' });
  let jwt = new SignJWT({ role: claims.role });
  // The console's operator sign-in tokens carry an id, spent once.
  if (options.jti) jwt = jwt.setJti(options.jti);
  const token = await jwt
    .setProtectedHeader({ alg: 'HS256', typ: OPERATOR_TYP })
    .setSubject(claims.sub)
    .setAudience(OPERATOR_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(secret);
  checkLifetime(decodeJwt(token), Date.now(), options.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS);
  return token;
}

export function createOperatorVerifier(
  secret: Uint8Array,
  options: { maxLifetimeSeconds?: number; now?: () => number } = {},
): OperatorVerifier {
  const now = options.now ?? Date.now;
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS;
  return async (token) => {
    const at = now();
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      audience: OPERATOR_AUDIENCE,
      typ: OPERATOR_TYP,
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(at),
    });
    checkLifetime(payload, at, maxLifetime);
    return operatorClaimsSchema.parse(payload);
  };
}

/**
 * Says whether a request comes from a signed-in operator's browser (the console's operator session), for
 * callers that may present one instead of a token; its caller decides which requests may (their origin).
 */
export type OperatorSessionCheck = (req: Request) => Promise<boolean>;

/**
 * Lets through only requests with a verified operator token, or, where `session` is given and admits the
 * request, an operator's session. Mounted before any body parser: a refused request's body is never read,
 * and its connection is closed rather than drained. A bearer token that is there decides alone: a bad one is
 * refused even from a browser with a session.
 */
export function operatorsOnly(verify: OperatorVerifier, session?: OperatorSessionCheck): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    try {
      if (token) {
        await verify(token).catch(() => {
          throw new ApiError('unauthorized', 'the operator token is invalid or expired');
        });
      } else if (!(session && (await session(req)))) {
        throw new ApiError('unauthorized', 'an operator token (or operator console session) is required');
      }
    } catch (error) {
      if (!req.complete) res.setHeader('Connection', 'close');
      return next(error);
    }
    next();
  };
}
