/**
 * Layering a newcomer can rely on: production code — the public entry point (mod.ts) and
 * the server entry points (edge/deno.ts, edge/worker.ts, edge/worker_ort.ts) with everything they import —
 * never reaches bin/ (CLIs), tests/ or bench/, nor any package that is only a dev
 * dependency (test oracles, benchmark peers, protobuf and plotting libraries, miniflare);
 * and no module of src/ or edge/ imports (code or types) from a higher layer than its own
 * (tests/support/layers.ts). Walks the module graph `deno info --json` reports.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { upwardEdges } from "./support/layers.ts";

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

/** What `deno info --json` reports, as far as these tests read it. */
interface Graph {
  modules: {
    specifier: string;
    dependencies?: {
      specifier: string;
      code?: { specifier?: string };
      type?: { specifier?: string };
    }[];
  }[];
}

/** Offending edges (importer → imported) of an entry point's module graph. */
export function forbiddenEdges(graph: Graph): string[] {
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

/** `deno info --json` of one module: its module graph. */
async function moduleGraph(entry: string): Promise<Graph> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const ENTRY_POINTS = ["mod.ts", "edge/deno.ts", "edge/worker.ts", "edge/worker_ort.ts"];

for (const entry of ENTRY_POINTS) {
  Deno.test(`layering: ${entry} imports nothing from bin/, tests/, bench/ or dev-only packages`, async () => {
    const graph = await moduleGraph(entry);
    assert(graph.modules.length > 10, `only ${graph.modules.length} modules in the graph`);
    assertEquals(forbiddenEdges(graph), []);
  });
}

/**
 * The graph's edges between the repository's own files (code and type imports; none inside
 * or into node_modules), as repository-relative paths.
 */
export function localEdges(graph: Graph): { from: string; to: string }[] {
  const local = (specifier: string | undefined) => {
    if (!specifier?.startsWith(`file://${root}`)) return undefined;
    const path = new URL(specifier).pathname.slice(root.length);
    return packageOf(`/${path}`) ? undefined : path;
  };
  const edges = new Map<string, { from: string; to: string }>();
  for (const m of graph.modules) {
    const from = local(m.specifier);
    if (!from) continue;
    for (const d of m.dependencies ?? []) {
      for (const target of [d.code?.specifier, d.type?.specifier]) {
        const to = local(target);
        if (to) edges.set(`${from} ${to}`, { from, to });
      }
    }
  }
  return [...edges.values()];
}

/** Every .ts file under `folder` (repository-relative). */
function tsFiles(folder: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(`${root}${folder}`)) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) found.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

Deno.test("layering: no module of src/ or edge/ imports from a higher layer", async () => {
  const modules = new Set<string>();
  const edges = new Map<string, { from: string; to: string }>();
  const walk = async (entry: string) => {
    const graph = await moduleGraph(entry);
    for (const m of graph.modules) {
      if (m.specifier.startsWith(`file://${root}`)) {
        modules.add(new URL(m.specifier).pathname.slice(root.length));
      }
    }
    for (const e of localEdges(graph)) edges.set(`${e.from} ${e.to}`, e);
  };
  for (const entry of ENTRY_POINTS) await walk(entry);
  // files no entry point imports (bin/ and tests use them, or a build aliases them): each
  // is walked from itself, so every production file is checked
  const production = ["mod.ts", ...tsFiles("src"), ...tsFiles("edge")];
  for (const file of production) if (!modules.has(file)) await walk(file);
  assertEquals(production.filter((f) => !modules.has(f)), []);
  assert(edges.size > 100, `only ${edges.size} edges`);
  assertEquals(upwardEdges([...edges.values()]), []);
});

Deno.test("layering: the layer check sees an upward edge and a file in no layer", () => {
  const file = (p: string) => `file://${root}${p}`;
  const graph = {
    modules: [{
      specifier: file("src/model/kernels/kernel_session.ts"),
      dependencies: [
        { specifier: "../../errors.ts", code: { specifier: file("src/errors.ts") } },
        {
          specifier: "../engine/runtimes.ts",
          type: { specifier: file("src/model/engine/runtimes.ts") },
        },
        {
          specifier: "../fixtures/demo_model.ts",
          code: { specifier: file("src/model/fixtures/demo_model.ts") },
        },
        {
          specifier: "./bert_graph.ts",
          code: { specifier: file("src/model/kernels/bert_graph.ts") },
        },
        { specifier: "hono", code: { specifier: file("node_modules/hono/dist/index.js") } },
      ],
    }, {
      specifier: file("src/model/onnx/quantize.ts"),
      dependencies: [
        { specifier: "../load_checks.ts", code: { specifier: file("src/model/load_checks.ts") } },
        { specifier: "../../lib/util.ts", code: { specifier: file("lib/util.ts") } },
      ],
    }, {
      specifier: file("edge/deno.ts"),
      dependencies: [
        { specifier: "./app.ts", code: { specifier: file("edge/app.ts") } },
        {
          specifier: "../src/model/default_model.ts",
          code: { specifier: file("src/model/default_model.ts") },
        },
      ],
    }],
  };
  assertEquals(upwardEdges(localEdges(graph)), [
    "src/model/kernels/kernel_session.ts (kernels) → src/model/engine/runtimes.ts (engine)",
    "src/model/kernels/kernel_session.ts (kernels) → src/model/fixtures/demo_model.ts (fixtures)",
    "src/model/onnx/quantize.ts (onnx) → src/model/load_checks.ts (model)",
    "src/model/onnx/quantize.ts (onnx) → lib/util.ts (no layer)",
  ]);
});

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
