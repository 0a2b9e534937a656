/**
 * Layering a newcomer can rely on: production code — the public entry point (mod.ts) and
 * the server entry points (edge/deno.ts, edge/worker.ts, edge/worker_ort.ts) with everything they import —
 * never reaches bin/ (CLIs), tests/ or bench/, nor any package that is only a dev
 * dependency (test oracles, benchmark peers, protobuf and plotting libraries, miniflare).
 * Walks the module graph `deno info --json` reports.
 */
import { assert, assertEquals } from "./support/assert.ts";

const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(Deno.readTextFileSync(`${root}package.json`));
const devOnly = new Set(Object.keys(pkg.devDependencies ?? {}));

/** The package a node_modules path belongs to (`@scope/name` or `name`), else null. */
function packageOf(path: string): string | null {
  const at = path.lastIndexOf("/node_modules/");
  if (at < 0) return null;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Offending edges (importer → imported) of an entry point's module graph. */
export function forbiddenEdges(graph: {
  modules: {
    specifier: string;
    dependencies?: { specifier: string; code?: { specifier?: string } }[];
  }[];
}): string[] {
  const bad: string[] = [];
  for (const m of graph.modules) {
    if (!m.specifier.startsWith("file://")) continue;
    const from = new URL(m.specifier).pathname;
    if (packageOf(from)) continue; // inside a package: its own business
    for (const d of m.dependencies ?? []) {
      const target = d.code?.specifier;
      if (!target?.startsWith("file://")) continue;
      const to = new URL(target).pathname;
      const name = packageOf(to);
      const local = to.startsWith(root) ? to.slice(root.length) : to;
      if (name ? devOnly.has(name) : /^(bin|tests|bench)\//.test(local)) {
        bad.push(`${from.slice(root.length)} → ${name ?? local}`);
      }
    }
  }
  return bad;
}

for (const entry of ["mod.ts", "edge/deno.ts", "edge/worker.ts", "edge/worker_ort.ts"]) {
  Deno.test(`layering: ${entry} imports nothing from bin/, tests/, bench/ or dev-only packages`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    const graph = JSON.parse(new TextDecoder().decode(stdout));
    assert(graph.modules.length > 10, `only ${graph.modules.length} modules in the graph`);
    assertEquals(forbiddenEdges(graph), []);
  });
}

Deno.test("layering: the check sees a forbidden edge when there is one", () => {
  const file = (p: string) => `file://${root}${p}`;
  const graph = {
    modules: [{
      specifier: file("edge/deno.ts"),
      dependencies: [
        { specifier: "../bin/embed.ts", code: { specifier: file("bin/embed.ts") } },
        { specifier: "onnx-proto", code: { specifier: file("node_modules/onnx-proto/index.js") } },
        { specifier: "hono", code: { specifier: file("node_modules/hono/dist/index.js") } },
      ],
    }],
  };
  assertEquals(forbiddenEdges(graph), ["edge/deno.ts → bin/embed.ts", "edge/deno.ts → onnx-proto"]);
});
