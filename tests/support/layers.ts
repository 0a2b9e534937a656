/**
 * The layers of production code, lowest first (docs/layout.md shows the same table): a
 * module may import from its own layer or a lower one, never from a higher one. A file
 * belongs to the layer of the longest path prefix that names it, so `src/model/onnx/`
 * (ONNX format) sits below `src/model/` (the façade) though it is inside it.
 * tests/layering_test.ts walks `deno info --json` and reports every upward edge.
 *
 * @example
 * ```ts
 * import { layerOf, upwardEdges } from "./layers.ts";
 * console.log(layerOf("src/model/onnx/graph.ts")?.name); // onnx
 * const edges = [{ from: "src/tokenizer/tokenizer.ts", to: "src/model/embedder.ts" }];
 * console.log(upwardEdges(edges)); // [ "src/tokenizer/tokenizer.ts (tokenizer) → src/model/embedder.ts (model)" ]
 * ```
 * @module
 */

/** One layer: a name and the files (exact paths) or folders (ending in `/`) in it. */
export interface Layer {
  name: string;
  paths: string[];
}

/** Lowest first. */
export const LAYERS: readonly Layer[] = [
  // what everything may use: errors, the host (files, env), the seeded random numbers, the
  // npm packages behind one import each, the built wasm modules the Workers import
  {
    name: "base",
    paths: ["src/errors.ts", "src/host.ts", "src/random.ts", "src/deps/", "wasm/build/"],
  },
  { name: "tokenizer", paths: ["src/tokenizer/"] },
  // the ONNX format: protobuf, graph reading and writing, external data, int8 quantization,
  // and the session shape both engines share (ort_session.ts)
  { name: "onnx", paths: ["src/model/onnx/"] },
  { name: "kernels", paths: ["src/model/kernels/"] },
  // chooses and runs a session: onnxruntime (native, wasm) or the kernels, in workers
  { name: "engine", paths: ["src/model/engine/"] },
  // Embedder and its loading, options, pooling, rows, words, files, hub
  { name: "model", paths: ["src/model/"] },
  // models with a head on the encoder: TextClassifier, SparseEncoder
  { name: "heads", paths: ["src/model/classify/", "src/model/sparse/"] },
  { name: "classifier", paths: ["src/classifier/"] },
  // the server's parts: contract, schema, batcher, metrics, errors, body, OpenAPI
  { name: "edge", paths: ["edge/"] },
  { name: "routes", paths: ["edge/middleware/", "edge/routes/"] },
  { name: "app", paths: ["edge/app.ts"] },
  // the generated demo BERT and the default-model chooser: only entry points (and bin/,
  // tests/, bench/) reach them, so no library or server module carries a demo model
  { name: "fixtures", paths: ["src/model/fixtures/", "src/model/default_model.ts"] },
  {
    name: "entry points",
    paths: [
      "mod.ts",
      "edge/config.ts",
      "edge/deno.ts",
      "edge/worker.ts",
      "edge/worker_ort.ts",
      "edge/worker_handler.ts",
      "edge/ort_web_excluded.ts",
    ],
  },
];

/** The layer of a repository-relative path (with its rank, 0 lowest), or undefined. */
export function layerOf(path: string): (Layer & { rank: number }) | undefined {
  let best: (Layer & { rank: number }) | undefined;
  let bestLength = -1;
  LAYERS.forEach((layer, rank) => {
    for (const p of layer.paths) {
      const matches = p.endsWith("/") ? path.startsWith(p) : path === p;
      if (matches && p.length > bestLength) {
        best = { ...layer, rank };
        bestLength = p.length;
      }
    }
  });
  return best;
}

/**
 * Each edge (repository-relative paths) that imports from a higher layer, or touches a file
 * in no layer, as `from (layer) → to (layer)`.
 */
export function upwardEdges(edges: { from: string; to: string }[]): string[] {
  const bad: string[] = [];
  for (const { from, to } of edges) {
    const a = layerOf(from), b = layerOf(to);
    if (!a || !b || b.rank > a.rank) {
      bad.push(`${from} (${a?.name ?? "no layer"}) → ${to} (${b?.name ?? "no layer"})`);
    }
  }
  return bad;
}
