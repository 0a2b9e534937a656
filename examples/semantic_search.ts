/**
 * Semantic search over the lines of a text file: embed every line once, then rank them
 * by cosine similarity to a query.
 *
 * ```sh
 * deno run -A examples/semantic_search.ts MODEL_DIR lines.txt "a query"
 * ```
 * @module
 */
import { Embedder, topK } from "@embedge/embedge";

const [model, file, query] = Deno.args;
if (!model || !file || !query) {
  console.error("usage: semantic_search.ts MODEL_DIR FILE QUERY");
  Deno.exit(2);
}
const lines = (await Deno.readTextFile(file)).split("\n").map((l) => l.trim())
  .filter((l) => l.length > 0);
const embedder = await Embedder.load(model);
const corpus = await embedder.embed(lines, { normalize: true });
const q = await embedder.embed([query], { normalize: true });
for (const hit of topK(q.data, corpus.data, corpus.dims[1], 3)) {
  console.log(`${hit.score.toFixed(4)}  ${lines[hit.index]}`);
}
await embedder.close();
