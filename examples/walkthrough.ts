/**
 * The classic walkthrough through the package entry point: "I love Paris." → tokens →
 * ids, attention mask → token vectors → a sentence vector, and how close two sentences
 * are. Run from any project that maps `@embedge/embedge` (JSR, or an import map pointing
 * at a checkout):
 *
 * ```sh
 * deno run -A examples/walkthrough.ts ../shared/models/embedge-mini-simcse
 * ```
 * @module
 */
import { cosine, Embedder } from "@embedge/embedge";

// the model named, else the sentence encoder trained here: it has real weights, where
// ../shared's all-MiniLM-L6-v2 has none (`embed` and the server pick the same way)
const model = Deno.args[0] ?? Deno.env.get("EMBEDGE_MODEL") ??
  "../shared/models/embedge-mini-simcse";
const embedder = await Embedder.load(model);
const text = "I love Paris.";
const enc = embedder.tokenizer.encode(text, { padding: "max_length", maxLength: 8 });
console.log(`model:          ${embedder.info.modelId} (${embedder.info.backend} backend)`);
console.log(`tokens:         ${enc.tokens.join(" ")}`);
console.log(`token ids:      ${Array.from(enc.ids).join(" ")}`);
console.log(`attention mask: ${Array.from(enc.attentionMask).join(" ")}`);
const [tokens] = await embedder.embedTokens([text]);
console.log(`token vectors:  ${tokens.tokens.length} × ${tokens.hiddenSize}`);
const { data, dims } = await embedder.embed([text, "I adore Paris.", "I hate traffic."]);
const row = (i: number) => data.subarray(i * dims[1], (i + 1) * dims[1]);
console.log(`sentence:       ${dims[1]} dims (${embedder.info.pooling} pooling)`);
console.log(`cosine(love, adore) = ${cosine(row(0), row(1)).toFixed(4)}`);
console.log(`cosine(love, hate)  = ${cosine(row(0), row(2)).toFixed(4)}`);
await embedder.close();
