/**
 * The contract of OpenAI's embeddings route (routes/openai.ts), at `/v1/embeddings` and, as
 * TEI serves it, at `/embeddings`: OpenAI's request fields and answer, with embedge's
 * extensions (pooling, truncate, layers, layer_mix).
 *
 * @module
 */
import { array, choice, either, integer, integerIn, literal, object, string } from "../schema.ts";
import { type SharedFields, vector } from "./fields.ts";
import { post } from "./route.ts";

/** The OpenAI routes' entries. */
export function openaiContract(shared: SharedFields) {
  const { inputs, text, pooling, truncate, layerFields } = shared;
  const openaiEmbeddings = post(
    "OpenAI-compatible embeddings (pooling, truncate, layers and layer_mix are embedge extensions)",
    {
      input: inputs<string | number[]>(true),
      // OpenAI's own fields are all known here, so that its clients work: `model` is
      // echoed back (one model is served), `user` is accepted and ignored (it is an
      // end-user id for OpenAI's abuse monitoring), encoding_format and dimensions work
      model: text("echoed back in the answer: this server serves one model"),
      user: text("accepted and ignored (OpenAI's end-user id)"),
      encoding_format: choice(["float", "base64"], "float"),
      dimensions: integerIn(1),
      pooling,
      // OpenAI refuses an input over the model's context length; truncate: true cuts it
      truncate,
      ...layerFields,
    },
    object({
      object: literal(["list"]),
      data: array(object({
        object: literal(["embedding"]),
        index: integer(),
        embedding: either(vector, string({ description: "base64 of little-endian float32" })),
      })),
      model: string(),
      usage: object({ prompt_tokens: integer(), total_tokens: integer() }),
    }),
    "openai",
  );
  return {
    "/v1/embeddings": openaiEmbeddings,
    // TEI serves OpenAI's route without /v1 too, outside its document; clients use it
    "/embeddings": {
      ...openaiEmbeddings,
      summary: "The same as /v1/embeddings (as TEI serves it)",
    },
  };
}
