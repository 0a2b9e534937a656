/**
 * The request's context, outermost of the app's middleware: its id (the client's
 * `x-request-id`, cut to 128 characters, or a new UUID), set first so that every answer,
 * the errors' too (app.ts's one `onError`), can carry it; then, once the answer is made,
 * the `x-request-id` header, the metrics (by the matched route's path: a new route is
 * counted without being listed anywhere) and one JSON log line.
 *
 * @module
 */
import { type Context, matchedRoutes, type MiddlewareHandler } from "../../src/deps/hono.ts";
import type { Metrics } from "../metrics.ts";
import type { Env } from "../server.ts";

/** The context middleware: ids, metrics and, when `log`, a log line per request. */
export function requestContext(metrics: Metrics, log: boolean): MiddlewareHandler<Env> {
  return async (c, next) => {
    const id = c.req.header("x-request-id")?.slice(0, 128) || crypto.randomUUID();
    const started = performance.now();
    c.set("requestId", id);
    await next(); // never throws: what the middleware and routes throw became an answer
    c.res.headers.set("x-request-id", id);
    const seconds = (performance.now() - started) / 1000;
    metrics.request(routeOf(c), c.res.status, seconds);
    if (log) {
      console.log(JSON.stringify({
        level: "info",
        requestId: id,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1e4) / 10,
      }));
    }
  };
}

/**
 * The path of the route that answered (`/embed`), or `other` when none did (a 404, a
 * 405): a label per route, never per path a client made up.
 */
function routeOf(c: Context): string {
  // middleware is registered for every method (ALL); routes for theirs
  const route = matchedRoutes(c).findLast((r) => r.method !== "ALL");
  return route?.path ?? "other";
}
