/**
 * The API key: with one set, every route but `/health`, `/docs` and `/openapi.json` wants
 * `Authorization: Bearer <key>`, else a 401 (thrown, so app.ts's `onError` answers it).
 *
 * @module
 */
import type { MiddlewareHandler } from "../../src/deps/hono.ts";
import { HttpError } from "../errors.ts";
import type { Env } from "../server.ts";

/** The routes open without the key: probes and the API's own description. */
const OPEN = /^\/(health|ping|docs|openapi\.json)$/;

/** Checks the bearer token against `apiKey` (nothing to check when it is unset). */
export function apiKeyCheck(apiKey: string | undefined): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (apiKey && !OPEN.test(c.req.path)) {
      // the scheme is case-insensitive (RFC 9110 §11.1); the token is compared in full
      const auth = c.req.header("authorization") ?? "";
      const space = auth.indexOf(" ");
      const scheme = space < 0 ? auth : auth.slice(0, space);
      const token = space < 0 ? "" : auth.slice(space + 1).trim();
      if (scheme.toLowerCase() !== "bearer" || !constantTimeEqual(token, apiKey)) {
        throw new HttpError(
          401,
          "missing or wrong API key (Authorization: Bearer …)",
          "authentication_error",
        );
      }
    }
    await next();
  };
}

/** Compares without an early exit, so the time does not reveal the key. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
