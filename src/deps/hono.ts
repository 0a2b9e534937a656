/**
 * Hono and its CORS middleware, pinned: the one place the library names them (the reasons
 * are onnxruntime_web.ts's: a versioned `npm:` specifier needs no package.json or node_modules
 * in the importer's project; node_modules here; bare names in the npm build). edge/ files
 * import Hono from here, never from "hono" or "hono/…"; a new subpath gets its line here.
 * @module
 */
export * from "npm:hono@4.13.19";
export { cors } from "npm:hono@4.13.19/cors";
export { matchedRoutes } from "npm:hono@4.13.19/route";
