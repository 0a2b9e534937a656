/**
 * embedge: BERT word and sentence embeddings at the edge. Text goes in; a WebAssembly
 * WordPiece tokenizer (ids identical to Hugging Face `tokenizers`) turns it into token
 * ids, attention mask and token types; an ONNX BERT session (onnxruntime-node where it
 * loads, onnxruntime-web everywhere else) turns those into contextual token vectors;
 * pooling turns them into sentence vectors. `createApp` serves it all over HTTP (Hono),
 * on Deno and on Cloudflare Workers.
 *
 * @example The walkthrough: "I love Paris." from tokens to a sentence vector
 * ```ts
 * import { cosine, Embedder } from "./mod.ts";
 *
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm"); // Hub layout
 * const enc = embedder.tokenizer.encode("I love Paris", { padding: "max_length", maxLength: 7 });
 * console.log(enc.tokens.join(" ")); // [CLS] i love paris [SEP] [PAD] [PAD]
 * console.log(Array.from(enc.ids)); // [101, 1045, 2293, 3000, 102, 0, 0]
 * console.log(Array.from(enc.attentionMask)); // [1, 1, 1, 1, 1, 0, 0]
 *
 * const [tokens] = await embedder.embedTokens(["I love Paris."]); // per real token
 * const { data, dims } = await embedder.embed(["I love Paris.", "I adore Paris."]);
 * const row = (i: number) => data.subarray(i * dims[1], (i + 1) * dims[1]);
 * console.log(tokens.tokens.length, dims, cosine(row(0), row(1)) > 0); // 6 [2, 256] true
 * await embedder.close();
 * ```
 *
 * @example Tokenizer only, from a tokenizer.json
 * ```ts
 * import { Tokenizer } from "./mod.ts";
 * const json = await Deno.readTextFile("../shared/models/all-MiniLM-L6-v2/tokenizer.json");
 * const tokenizer = await Tokenizer.fromTokenizerJson(json);
 * const batch = tokenizer.encodeBatch(["I love Paris.", ["a question", "a passage"]]);
 * console.log(batch.batchSize, batch.sequenceLength); // 2 7
 * ```
 *
 * @example A sentiment classifier (a `…ForSequenceClassification` export: output `logits`)
 * ```ts
 * import { TextClassifier } from "./mod.ts";
 * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2");
 * const [love, pair] = await classifier.classify(["i love paris .", ["i hate traffic .", "it is slow"]]);
 * console.log(love[0].label, love[0].score.toFixed(3)); // positive 0.977
 * console.log(pair.map((l) => l.label)); // [ "negative", "positive" ]
 * await classifier.close();
 * ```
 *
 * @example Reranking: texts ordered by a sequence classifier's score of `[query, text]` pairs
 * ```ts
 * import { TextClassifier } from "./mod.ts";
 * // a cross-encoder has one label; this sentiment model ranks by its "positive" logit
 * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2");
 * const ranks = await classifier.rerank("the film", ["was dull .", "was wonderful ."], {
 *   label: "positive",
 *   returnText: true,
 * });
 * console.log(ranks.map((r) => r.text)); // [ "was wonderful .", "was dull ." ]
 * await classifier.close();
 * ```
 *
 * @example Sparse (SPLADE) vectors from a masked LM (here the generated one: random weights)
 * ```ts
 * import { SparseEncoder, writeGeneratedModel } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await writeGeneratedModel(dir, "../shared/models/all-MiniLM-L6-v2", { head: "masked-lm" });
 * const encoder = await SparseEncoder.load(dir);
 * const [vector] = await encoder.embedSparse(["I love Paris."]);
 * console.log(vector.every((e, k) => k === 0 || vector[k - 1].index < e.index)); // true
 * await encoder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example An HTTP API (TEI- and OpenAI-compatible routes)
 * ```ts
 * import { createApp, Embedder } from "./mod.ts";
 * const app = createApp(await Embedder.load("../shared/models/embedge-mini-mlm"), { log: false });
 * const res = await app.request("/embed", {
 *   method: "POST",
 *   body: JSON.stringify({ inputs: "I love Paris.", layers: [-2] }),
 * });
 * console.log(res.status, (await res.json())[0].length); // 200 256
 * ```
 * @module
 */
export {
  type BatchEncoding,
  type EncodeOptions,
  type Encoding,
  type TextInput,
  Tokenizer,
} from "./src/tokenizer/tokenizer.ts";
export {
  type Dtype,
  DTYPE_FILES,
  Embedder,
  type Embeddings,
  type EmbedInput,
  type EmbedOptions,
  EncodedText,
  type LoadOptions,
  type ModelInfo,
  type PaddingStrategy,
  type TokenEmbeddings,
  type WordEmbeddings,
} from "./src/model/embedder.ts";
export type { ModelReader, ModelSource } from "./src/model/files.ts";
export {
  normalizeRows,
  pool,
  pooledSize,
  type Pooling,
  POOLINGS,
  type TokenPooling,
} from "./src/model/pooling.ts";
export { LAYER_MIXES, type LayerMix, mixLayers, resolveLayers } from "./src/model/layers.ts";
export {
  type ClassifierInfo,
  type ClassifierLoadOptions,
  type ClassifyInput,
  type ClassifyOptions,
  type Logits,
  type PredictOptions,
  type RerankOptions,
  TextClassifier,
} from "./src/model/classify/text_classifier.ts";
export type { Rank, RankOptions } from "./src/model/classify/rerank.ts";
export {
  SparseEncoder,
  type SparseInfo,
  type SparseLoadOptions,
  type SparseOptions,
} from "./src/model/sparse/sparse_encoder.ts";
export type { SparseEntry } from "./src/model/sparse/splade.ts";
export {
  type GeneratedModelOptions,
  writeGeneratedModel,
} from "./src/model/fixtures/demo_model.ts";
export type { BertHead, BertShape } from "./src/model/fixtures/generated_bert.ts";
export {
  type LabelScore,
  SCORE_FUNCTIONS,
  type ScoreFunction,
} from "./src/model/classify/scores.ts";
export { type Backend, BACKENDS } from "./src/model/engine/runtimes.ts";
export type { Engine } from "./src/model/engine/session.ts";
export { cosine, dot, type Hit, topK } from "./src/model/similarity.ts";
export { downloadModel, type HubOptions } from "./src/model/hub.ts";
export {
  inlineExternalData,
  INT8_FILE,
  quantize,
  quantizeModel,
  type QuantizeOptions,
  type QuantizeReport,
} from "./src/model/onnx/quantize.ts";
export {
  checkClassifier,
  type Classifier,
  type EmbeddingSetup,
  evaluate,
  predictProba,
  train,
  type TrainOptions,
} from "./src/classifier/logistic.ts";
export {
  EmbedgeError,
  InferenceError,
  InputError,
  InputTooLongError,
  ModelLoadError,
  TokenizerLoadError,
} from "./src/errors.ts";
export { type AppOptions, createApp } from "./edge/app.ts";
