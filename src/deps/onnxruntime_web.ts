/**
 * onnxruntime-web, pinned: the one place the library names it. A versioned `npm:` specifier
 * resolves with nothing but the importer's import map (Deno fetches the package into its
 * cache), where a bare `onnxruntime-web` would need the user's package.json or `deno add`;
 * inside this repository (`nodeModulesDir: "manual"`) Deno takes it from node_modules, offline.
 * The npm build (bin/npm_specifiers.mjs) rewrites it to the bare name, which Node and
 * bundlers resolve through package.json. Keep the version equal to node_modules' and
 * package.json's (tests/deps_test.ts checks).
 * @module
 */
export * from "npm:onnxruntime-web@1.30.0";
