/**
 * The library's npm dependencies are named in one place each (src/deps/, plus the native
 * backend's run-time specifier in runtimes.ts) with versioned `npm:` specifiers, so a Deno
 * script outside the repository needs nothing but an import map. This checks the pins
 * against what is installed and declared, that no production module names a package
 * another way, that the Worker's bundler knows every specifier, and the npm build's
 * rewrite to bare names.
 */
import { bareSpecifiers } from "../bin/npm_specifiers.ts";
import { nativeSpecifier, ONNXRUNTIME_NODE_VERSION } from "../src/model/engine/runtimes.ts";
import { SWAGGER_UI_DIST_VERSION, swaggerUiSpecifier } from "../edge/docs.ts";
import { workerAliases } from "./support/wrangler_dev.ts";
import { assert, assertEquals } from "./support/assert.ts";

const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(Deno.readTextFileSync(`${root}package.json`));
const declared: Record<string, string> = { ...pkg.dependencies, ...pkg.optionalDependencies };
const installed = (name: string) =>
  JSON.parse(Deno.readTextFileSync(`${root}node_modules/${name}/package.json`)).version as string;

/** The `npm:` specifiers of src/deps/ (name, version, subpath). */
function pinned(): { specifier: string; name: string; version: string }[] {
  const found = [];
  for (const entry of Deno.readDirSync(`${root}src/deps`)) {
    const text = Deno.readTextFileSync(`${root}src/deps/${entry.name}`);
    for (const m of text.matchAll(/from "(npm:((?:@[\w.-]+\/)?[\w.-]+)@([^/"]+)[^"]*)"/g)) {
      found.push({ specifier: m[1], name: m[2], version: m[3] });
    }
  }
  return found;
}

Deno.test("deps: every pin equals the installed version and package.json's exact version", () => {
  const pins = [
    ...pinned(),
    {
      specifier: nativeSpecifier(true),
      name: "onnxruntime-node",
      version: ONNXRUNTIME_NODE_VERSION,
    },
    // /docs' Swagger UI files, located at run time by the Deno server (edge/docs.ts)
    {
      specifier: swaggerUiSpecifier(true),
      name: "swagger-ui-dist",
      version: SWAGGER_UI_DIST_VERSION,
    },
  ];
  assertEquals(
    new Set(pins.map((p) => p.name)),
    new Set(Object.keys(declared)),
    "src/deps/ and package.json's dependencies name different packages",
  );
  for (const { specifier, name, version } of pins) {
    assertEquals(version, installed(name), `${specifier}: node_modules has ${installed(name)}`);
    // exact in package.json too: npm consumers must run what Deno consumers run (a range
    // such as ^1.23.0 gave a fresh `npm i` onnxruntime 1.31.1)
    assertEquals(declared[name], version, `${specifier}: package.json says ${declared[name]}`);
  }
});

Deno.test("deps: the native backend is npm:onnxruntime-node@version on Deno, bare on Node", () => {
  assertEquals(nativeSpecifier(true), `npm:onnxruntime-node@${ONNXRUNTIME_NODE_VERSION}`);
  assertEquals(nativeSpecifier(false), "onnxruntime-node");
  assertEquals(nativeSpecifier(), nativeSpecifier(true)); // this test runs on Deno
});

Deno.test("deps: the Worker's bundler maps every npm: specifier of src/deps/", () => {
  const aliases = workerAliases();
  for (const { specifier } of pinned()) {
    assert(aliases[specifier], `edge/wrangler.jsonc has no alias for ${specifier}`);
    Deno.statSync(aliases[specifier]); // the file it points at exists
  }
});

for (const entry of ["mod.ts", "edge/deno.ts", "edge/worker.ts"]) {
  Deno.test(`deps: ${entry} names npm packages only through versioned npm: specifiers`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    const graph = JSON.parse(new TextDecoder().decode(stdout));
    const bad: string[] = [];
    for (
      const m of graph.modules as { specifier: string; dependencies?: { specifier: string }[] }[]
    ) {
      if (!m.specifier.startsWith(`file://${root}`)) continue; // packages: their business
      if (m.specifier.includes("/node_modules/")) continue;
      if (m.specifier.endsWith(".wasm")) continue; // its imports are the host's, not modules
      for (const { specifier } of m.dependencies ?? []) {
        const fine = /^(\.{1,2}\/|node:|npm:(@[\w.-]+\/)?[\w.-]+@\d)/.test(specifier);
        if (!fine) bad.push(`${m.specifier.slice(`file://${root}`.length)} → ${specifier}`);
      }
    }
    // a bare name resolves only in a project with a package.json or node_modules (this one)
    assertEquals(bad, []);
  });
}

Deno.test("deps: the npm build's rewrite makes versioned npm: specifiers bare", () => {
  assertEquals(
    bareSpecifiers(
      [
        `export * from "npm:onnxruntime-web@1.30.0";`,
        `export { cors } from 'npm:hono@4.13.19/cors';`,
        `import x from "npm:@scope/name@1.2.3/sub/path.js";`,
        `const s = "npm: specifiers in prose stay";`,
        `import y from "./local.js";`,
      ].join("\n"),
    ),
    [
      `export * from "onnxruntime-web";`,
      `export { cors } from 'hono/cors';`,
      `import x from "@scope/name/sub/path.js";`,
      `const s = "npm: specifiers in prose stay";`,
      `import y from "./local.js";`,
    ].join("\n"),
  );
});
