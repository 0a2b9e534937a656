/**
 * The routes in the shape of Hugging Face text-embeddings-inference (TEI): `POST /embed`
 * (sentence vectors), `/embed_all` (a vector per token), `/embed/words` (a vector per
 * word, an embedge extension), `/tokenize`, `/decode` and `/similarity`. Each but `/decode`
 * takes TEI's `prompt_name` (prompt_name.ts; the prompt goes before each input, admission.ts).
 *
 * @module
 */
import { type Context, Hono } from "../../src/deps/hono.ts";
import type { Embedder, EmbedInput, EmbedOptions, EncodedText } from "../../src/model/embedder.ts";
import { cosine } from "../../src/model/similarity.ts";
import {
  admit,
  checkOutputSize,
  checkTokenVectors,
  encodings,
  TOKEN_NUMBERS,
} from "../admission.ts";
import { type Json, readFields, readJson } from "../body.ts";
import { answer } from "../contract/route.ts";
import { HttpError } from "../errors.ts";
import { checkPromptName } from "../prompt_name.ts";
import type { TruncationDirection } from "../truncation.ts";
import { jsonResponse } from "../json_stream.ts";
import { type Fields, type Parsed, parseFields } from "../schema.ts";
import type { Env, Server } from "../server.ts";
import { answerWidth, cut, layerChoice } from "./vectors.ts";

/** The TEI routes of `server`; `/embed` at `embedAlso` too (the dispatching routes, app.ts). */
export function teiRoutes(server: Server, embedAlso: string[] = []): Hono<Env> {
  const app = new Hono<Env>();
  embedRoute(app, server, embedAlso);
  embedAllRoute(app, server);
  embedWordsRoute(app, server);
  tokenizeRoute(app, server);
  decodeRoute(app, server);
  return app;
}

/** Answers one parsed JSON body (the routes read it first, so that `POST /` can choose). */
type Answerer = (c: Context<Env>, raw: Json) => Promise<Response>;

/**
 * `/embed` (and, at `also`, `POST /` and `/invocations` for an embedding model): a body whose
 * `inputs` is an object (`{ source_sentence, sentences }`, the Inference API's
 * sentence-similarity request, which Hugging Face's clients send to the root) is answered as
 * `/similarity`, any other as `/embed`.
 */
function embedRoute(app: Hono<Env>, server: Server, also: string[]) {
  const embed = embedAnswerer(server), similarity = similarityAnswerer(server);
  app.post("/embed", async (c) => embed(c, await readJson(c, server.limits)));
  app.post("/similarity", async (c) => similarity(c, await readJson(c, server.limits)));
  if (also.length === 0) return;
  app.on("POST", also, async (c) => {
    const raw = await readJson(c, server.limits);
    const inputs = raw.inputs;
    const pair = typeof inputs === "object" && inputs !== null && !Array.isArray(inputs);
    return await (pair ? similarity : embed)(c, raw);
  });
}

/** TEI's truncation and prompt fields, as its text routes (and /similarity's parameters) carry them. */
interface TeiTextFields {
  truncate: boolean;
  truncation_direction: TruncationDirection;
  prompt_name?: string;
}

/**
 * `admit` for TEI's text routes: `inputs` tokenized once, cut as `t` asks, behind the
 * prompt `t.prompt_name` names (an unknown name: TEI's 413, checkPromptName).
 */
function admitTei(
  embedder: Embedder,
  inputs: (string | number[])[],
  t: TeiTextFields,
  field = "inputs",
  promptField = "prompt_name",
): EmbedInput[] {
  return admit(
    embedder,
    inputs,
    t.truncate,
    field,
    undefined,
    t.truncation_direction,
    checkPromptName(embedder.info, t.prompt_name, promptField),
  );
}

/** `/embed`: one vector per input, pooled, normalized and cut as asked. */
function embedAnswerer({ embedder, batcher, limits, routes }: Server): Answerer {
  const route = routes["/embed"];
  return async (c, raw) => {
    const b = parseFields(raw, route.fields);
    const list = admitTei(embedder, b.inputs, b);
    const opts: EmbedOptions = {
      normalize: b.normalize,
      pooling: b.pooling,
      truncate: b.truncate,
      ...layerChoice(b),
    };
    const full = embedder.dimensions(b.pooling, opts);
    const dims = answerWidth(b.dimensions, full, list.length, limits.maxOutputFloats, "inputs");
    const out = await batcher.embed(list, opts, c.get("turn"));
    const d = out.dims[1];
    return jsonResponse(answer(
      route,
      list.map((_, i) => Array.from(cut(out.data.subarray(i * d, (i + 1) * d), dims, b.normalize))),
    ));
  };
}

/** The token and word routes refuse the fields of sentence vectors by name. */
async function tokenRequest<F extends Fields>(
  c: Parameters<typeof readJson>[0],
  limits: Server["limits"],
  route: { fields: F },
): Promise<Parsed<F>> {
  const raw = await readJson(c, limits);
  for (const f of ["normalize", "pooling", "dimensions"]) {
    if (raw[f] !== undefined) {
      throw new HttpError(
        400,
        `${f} applies to sentence vectors (/embed), not here`,
        "invalid_request_error",
        f,
      );
    }
  }
  return parseFields(raw, route.fields);
}

/** `/embed_all`: every token's vector (the model runs alone: its answers are big). */
function embedAllRoute(app: Hono<Env>, { embedder, batcher, limits, routes }: Server) {
  const route = routes["/embed_all"];
  app.post("/embed_all", async (c) => {
    const b = await tokenRequest(c, limits, route);
    const list = encodings(
      embedder,
      admitTei(embedder, b.inputs, b),
    );
    const opts: EmbedOptions = { truncate: b.truncate, ...layerChoice(b) };
    checkTokenVectors(embedder, list, opts, limits.maxOutputFloats);
    const toks = await batcher.exclusive(
      () => embedder.embedTokens(list, opts),
      c.get("turn"),
      list.length,
    );
    return jsonResponse(answer(
      route,
      toks.map((t) => {
        const h = t.hiddenSize;
        return t.tokens.map((_, k) => Array.from(t.vectors.subarray(k * h, (k + 1) * h)));
      }),
    ));
  });
}

/** `/embed/words`: a vector per word, its subwords aggregated, with its offsets. */
function embedWordsRoute(app: Hono<Env>, { embedder, batcher, limits, routes }: Server) {
  const route = routes["/embed/words"];
  app.post("/embed/words", async (c) => {
    const b = await tokenRequest(c, limits, route);
    const list = admitTei(embedder, b.inputs, b);
    const opts: EmbedOptions = { truncate: b.truncate, ...layerChoice(b) };
    checkTokenVectors(embedder, list, opts, limits.maxOutputFloats);
    const words = await batcher.exclusive(
      () => embedder.embedWords(list as EncodedText[], { ...opts, aggregate: b.aggregate }),
      c.get("turn"),
      list.length,
    );
    return jsonResponse(answer(
      route,
      words.map((w) => ({
        words: w.words.map((word, k) => ({
          word,
          start: w.offsets[2 * k],
          stop: w.offsets[2 * k + 1],
          vector: Array.from(w.vectors.subarray(k * w.hiddenSize, (k + 1) * w.hiddenSize)),
        })),
      })),
    ));
  });
}

/** `/tokenize`: tokens, ids, offsets and the attention mask, optionally padded. */
function tokenizeRoute(app: Hono<Env>, { embedder, limits, routes }: Server) {
  const route = routes["/tokenize"];
  app.post("/tokenize", async (c) => {
    const b = await readFields(c, limits, route);
    const padTo = b.max_length;
    const padding = b.padding ?? (padTo ? "max_length" : false);
    if (padding && !padTo) {
      throw new HttpError(400, "padding needs max_length", "invalid_request_error", "max_length");
    }
    const special = b.add_special_tokens;
    // the prompt's tokens are shown too, their offsets (like the others) in the prompted text
    const prompt = embedder.promptText(
      { promptName: checkPromptName(embedder.info, b.prompt_name, "prompt_name") },
      "prompt_name",
    );
    const encodings = b.inputs.map((text) =>
      embedder.tokenizer.encode(
        prompt + text,
        padTo
          ? { addSpecialTokens: special, maxLength: padTo, truncation: true, padding }
          : { addSpecialTokens: special },
      )
    );
    // tokenizing is cheap next to writing the answer (an 87 MB one was possible): the
    // budget is checked between the two
    const tokens = encodings.reduce((n, e) => n + e.ids.length, 0);
    checkOutputSize(
      tokens * TOKEN_NUMBERS,
      limits.maxOutputFloats,
      `${tokens} tokens, counted as ${TOKEN_NUMBERS} numbers each`,
      "inputs",
    );
    return jsonResponse(answer(
      route,
      encodings.map((e) => {
        const tokens = e.tokens, mask = e.attentionMask, sp = e.specialTokensMask;
        const off = e.offsets;
        return Array.from(e.ids, (id, k) => ({
          id,
          text: tokens[k],
          special: sp[k] === 1,
          start: sp[k] ? null : off[2 * k],
          stop: sp[k] ? null : off[2 * k + 1],
          attention_mask: mask[k],
        }));
      }),
    ));
  });
}

/** `/decode`: token ids back to text, one list or several. */
function decodeRoute(app: Hono<Env>, { embedder, limits, routes }: Server) {
  const route = routes["/decode"];
  app.post("/decode", async (c) => {
    const b = await readFields(c, limits, route);
    const options = { skipSpecialTokens: b.skip_special_tokens };
    const decode = (ids: number[]) => embedder.tokenizer.decode(ids, options);
    // one id list, or several: always an array of texts, as TEI answers
    const many = b.ids.length > 0 && Array.isArray(b.ids[0]);
    return jsonResponse(answer(
      route,
      many ? (b.ids as number[][]).map(decode) : [decode(b.ids as number[])],
    ));
  });
}

/** `/similarity`: the cosine of a source sentence to each candidate. */
function similarityAnswerer({ embedder, batcher, routes }: Server): Answerer {
  const route = routes["/similarity"];
  return async (c, raw) => {
    const b = parseFields(raw, route.fields);
    const all = [b.inputs.source, ...b.inputs.sentences];
    const p = b.parameters;
    const admitted = admitTei(embedder, all, p, "inputs.sentences", "parameters.prompt_name");
    const out = await batcher.embed(admitted, {
      normalize: true,
      truncate: p.truncate,
      pooling: b.pooling,
    }, c.get("turn"));
    const d = out.dims[1];
    const source = out.data.subarray(0, d);
    return jsonResponse(answer(
      route,
      b.inputs.sentences.map((_, i) => cosine(source, out.data.subarray((i + 1) * d, (i + 2) * d))),
    ));
  };
}
