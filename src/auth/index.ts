/**
 * Auth primitives shared by the API (UAA-compatible tokens) and the registry
 * (bearer tokens): HS256 JWTs signed with the appliance's token key, with
 * per-purpose derived keys, and Authorization header parsing. Users and
 * password hashes live in the store (`store.users`).
 */
export { signJwt, verifyJwt, deriveKey, TokenError, type JwtClaims } from "./jwt.ts";
export { parseBasicAuth, parseBearer } from "./basic.ts";
