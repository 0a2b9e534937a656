/**
 * The walkthrough on Node, through the npm package's entry point: "I love Paris." →
 * tokens → ids, attention mask → token vectors → a sentence vector, and how close two
 * sentences are. In a project with embedge installed (`npm install embedge`; Node 20+):
 *
 * ```sh
 * node node_walkthrough.mjs ../shared/models/embedge-mini-simcse
 * ```
 * @module
 */
import { cosine, Embedder } from "embedge";
import process from "node:process";

// the model named, else the sentence encoder trained here: it has real weights, where
// ../shared's all-MiniLM-L6-v2 has none (`embed` and the server pick the same way)
const model = process.argv[2] ?? process.env.EMBEDGE_MODEL ??
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
const row = (i) => data.subarray(i * dims[1], (i + 1) * dims[1]);
console.log(`sentence:       ${dims[1]} dims (${embedder.info.pooling} pooling)`);
console.log(`cosine(love, adore) = ${cosine(row(0), row(1)).toFixed(6)}`);
console.log(`cosine(love, hate)  = ${cosine(row(0), row(2)).toFixed(6)}`);
await embedder.close();
