/**
 * One reader of the server's configuration for both entry points (Deno's environment and
 * a Worker's `env`): every value is checked, and a bad one is a `ConfigError` naming the
 * variable, which the Deno entry prints as one line (exit 2) and the Worker answers as
 * 503 JSON. An empty `EMBEDGE_API_KEY` is an error, never "auth off".
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `PORT`, `HOST` (`--port`, `--host`) | where the Deno server listens (`0.0.0.0`: every interface) | 8080, 127.0.0.1 |
 * | `EMBEDGE_MODEL` (`--model`, `--model-id`) | model directory or Hub id (Deno) | the classifiers' model, else all-MiniLM-L6-v2 with weights, else `../shared/models/embedge-mini-simcse` |
 * | `EMBEDGE_PREDICT_MODEL` (`--predict-model`) | a sequence-classification model directory for TEI's `/predict` and `/rerank` (Workers: a directory in the model's assets or bucket, onnxruntime-web build only); `POST /` then answers as it | none |
 * | `EMBEDGE_BACKEND`, `EMBEDGE_THREADS` | inference backend and threads (Deno) | auto, default |
 * | `EMBEDGE_WORKERS` | run the model in N Deno workers, off the event loop (Deno; 0: inline) | the core count |
 * | `EMBEDGE_BATCH_TOKENS` | most cells (rows × padded length) per model run: bounds memory | 16384; 512 on Workers |
 * | `EMBEDGE_DEFAULT_PROMPT_NAME` (`--default-prompt-name`, TEI's flag) | the prompt applied when a request names none: one of the model's prompts, or `none` (TEI's default) | the model's `default_prompt_name` (sentence-transformers') |
 * | `EMBEDGE_DTYPE` | model variant: fp32, int8 (`onnx/model_int8.onnx`, e.g. from `embedge quantize`), fp16 | fp32 |
 * | `EMBEDGE_API_KEY` | require `Authorization: Bearer <key>` | none |
 * | `EMBEDGE_CORS_ORIGINS` | allowed origins, comma-separated, or `*` | `*` |
 * | `EMBEDGE_TIMEOUT_MS` | request timeout | 30000 |
 * | `EMBEDGE_BODY_TIMEOUT_MS` | time for the whole request body to arrive (408 past it) | 10000 |
 * | `EMBEDGE_HEADER_TIMEOUT_MS` | time for a request's headers to arrive from their first byte (408 past it; Deno: edge/header_guard/; 0: no guard) | 10000 |
 * | `EMBEDGE_BATCHING` | `on` / `off` | on |
 * | `EMBEDGE_MAX_QUEUE` | most inputs queued or running | 1024 |
 * | `EMBEDGE_BATCH_WAIT_MS` | longest wait for a batch to fill | 5 |
 * | `EMBEDGE_MAX_INPUTS` | most inputs per request | 256 |
 * | `EMBEDGE_MAX_BODY_BYTES` | largest request body | 2097152 |
 * | `EMBEDGE_MAX_INPUT_CHARS` | longest input (UTF-16 units) | 100000 |
 * | `EMBEDGE_MAX_OUTPUT_FLOATS` | most numbers in one `/embed_all` or `/embed/words` answer (413 past it) | 4194304 |
 * | `EMBEDGE_LOG` | `on` / `off` (one JSON line per request) | on |
 * | `EMBEDGE_CLASSIFIERS` | `name=path.json,…` classifier heads | none |
 *
 * @example
 * ```ts
 * import { ConfigError, serverConfig } from "./config.ts";
 * const c = serverConfig({ EMBEDGE_TIMEOUT_MS: "500", EMBEDGE_BATCHING: "off" });
 * console.log(c.app.timeoutMs, c.app.batching?.enabled); // 500 false
 * try {
 *   serverConfig({ EMBEDGE_MAX_QUEUE: "abc" });
 * } catch (e) {
 *   console.log(e instanceof ConfigError, (e as ConfigError).variable); // true EMBEDGE_MAX_QUEUE
 * }
 * ```
 * @module
 */
import type { AppOptions } from "./app.ts";
import { type Dtype, DTYPE_FILES } from "../src/model/embedder.ts";

/** A configuration value that is not valid; `variable` names it. */
export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

/** Command-line flags of the Deno server and the variable each one sets. */
export const SERVER_FLAGS: Readonly<Record<string, string>> = {
  "--model": "EMBEDGE_MODEL",
  "--model-id": "EMBEDGE_MODEL", // text-embeddings-inference's spelling
  "--predict-model": "EMBEDGE_PREDICT_MODEL",
  "--default-prompt-name": "EMBEDGE_DEFAULT_PROMPT_NAME", // text-embeddings-inference's flag
  "--port": "PORT",
  "--host": "HOST",
  "--hostname": "HOST", // text-embeddings-inference's spelling
};

/** What `serverFlags` read from a command line. */
export interface ServerFlags {
  /** Variables set by flags (they win over the environment). */
  vars: Record<string, string>;
  /** Which flag set each variable, to name it in errors. */
  flagOf: Record<string, string>;
  help: boolean;
  /** `--demo-model`: serve embedge's generated BERT with random weights. */
  demo: boolean;
}

/**
 * Reads the Deno server's command line (`--port 9000`, `--port=9000`, `--model DIR`,
 * `--host 0.0.0.0`, `--help`, `--demo-model`); throws `ConfigError` naming an unknown flag
 * or one without its value.
 *
 * @example
 * ```ts
 * import { serverFlags } from "./config.ts";
 * console.log(serverFlags(["--port", "9999", "--model-id=m"]).vars); // { PORT: "9999", EMBEDGE_MODEL: "m" }
 * ```
 */
export function serverFlags(args: string[]): ServerFlags {
  const out: ServerFlags = { vars: {}, flagOf: {}, help: false, demo: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") out.help = true;
    else if (arg === "--demo-model") out.demo = true;
    else {
      const eq = arg.indexOf("=");
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      const variable = SERVER_FLAGS[flag];
      if (!variable || !Object.hasOwn(SERVER_FLAGS, flag)) {
        throw new ConfigError(flag, "unknown option (see --help)");
      }
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new ConfigError(flag, "needs a value");
      out.vars[variable] = value;
      out.flagOf[variable] = flag;
    }
  }
  return out;
}

/** What the entry points need, read from variables. */
export interface ServerConfig {
  /** Options of `createApp` (classifiers are read by the entry point from `classifiers`). */
  app: AppOptions;
  /** `name → path` of classifier heads. */
  classifiers: [string, string][];
  port: number;
  host: string;
  /** The model directory or Hub id (`EMBEDGE_MODEL`), when set. */
  model?: string;
  /** The sequence-classification model (`EMBEDGE_PREDICT_MODEL`; Deno), when set. */
  predictModel?: string;
  /**
   * The prompt a request naming none gets (`EMBEDGE_DEFAULT_PROMPT_NAME`; `none`: null),
   * when set; else the model's own default.
   */
  defaultPromptName?: string | null;
  /** Which ONNX variant of the model to load (`EMBEDGE_DTYPE`), when set. */
  dtype?: Dtype;
  /** Most cells per model run (`EMBEDGE_BATCH_TOKENS`), when set. */
  batchTokens?: number;
  /** Session workers (`EMBEDGE_WORKERS`; Deno), when set. */
  workers?: number;
  /** Time for a request's headers (`EMBEDGE_HEADER_TIMEOUT_MS`; Deno); 0: no guard. */
  headerTimeoutMs: number;
}

/** A listening address: a name or IP, no spaces (`0.0.0.0` listens on every interface). */
function host(value: string | undefined): string {
  if (value === undefined) return "127.0.0.1";
  if (!/^[\w.:-]+$/.test(value) || value.length > 253) {
    throw new ConfigError(
      "HOST",
      `must be a host name or IP address, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Reads and checks the configuration (`vars`: `Deno.env.toObject()` or a Worker's env). */
export function serverConfig(vars: Record<string, unknown>): ServerConfig {
  const get = (name: string): string | undefined => {
    const v = vars[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new ConfigError(name, "must be a string");
    return v;
  };
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    // plain decimal digits only: Number() would also take "0x10", "1e3", "+5" and " "
    const n = /^-?\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(name, `must be an integer in ${min}..${max}, not ${JSON.stringify(v)}`);
    }
    return n;
  };
  const onOff = (name: string): boolean | undefined => {
    const v = get(name)?.trim().toLowerCase();
    if (v === undefined) return undefined;
    if (["on", "true", "1"].includes(v)) return true;
    if (["off", "false", "0"].includes(v)) return false;
    throw new ConfigError(name, `must be on or off, not ${JSON.stringify(get(name))}`);
  };
  const apiKey = get("EMBEDGE_API_KEY");
  if (apiKey !== undefined && apiKey.trim() === "") {
    throw new ConfigError("EMBEDGE_API_KEY", "is empty: unset it to serve without a key");
  }
  // clients send header values as bytes (UTF-8 at best, Latin-1 in fetch): a key with other
  // characters than visible ASCII could never be matched, so no request would ever pass
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new ConfigError(
      "EMBEDGE_API_KEY",
      "must be visible ASCII characters only (no spaces, no accents or other non-ASCII letters): " +
        "HTTP clients could never send it in an Authorization header",
    );
  }
  const cors = get("EMBEDGE_CORS_ORIGINS");
  const origins = cors?.split(",").map((s) => s.trim()).filter(Boolean);
  if (cors !== undefined && !origins!.length) {
    throw new ConfigError("EMBEDGE_CORS_ORIGINS", "lists no origin (use * for any)");
  }
  for (const o of origins ?? []) {
    if (o !== "*" && !/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new ConfigError("EMBEDGE_CORS_ORIGINS", `${JSON.stringify(o)} is not an origin`);
    }
  }
  const classifiers = (get("EMBEDGE_CLASSIFIERS") ?? "").split(",").map((s) => s.trim())
    .filter(Boolean).map((spec) => {
      const at = spec.indexOf("=");
      const name = spec.slice(0, at), path = spec.slice(at + 1);
      if (at <= 0 || !path || !/^[\w.-]+$/.test(name)) {
        throw new ConfigError("EMBEDGE_CLASSIFIERS", `${JSON.stringify(spec)} is not name=path`);
      }
      return [name, path] as [string, string];
    });
  const app: AppOptions = {
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(origins ? { corsOrigins: origins.includes("*") ? "*" : origins } : {}),
    timeoutMs: int("EMBEDGE_TIMEOUT_MS", 1, 3_600_000),
    bodyTimeoutMs: int("EMBEDGE_BODY_TIMEOUT_MS", 1, 3_600_000),
    maxInputs: int("EMBEDGE_MAX_INPUTS", 1, 100_000),
    maxBodyBytes: int("EMBEDGE_MAX_BODY_BYTES", 1024, 1 << 30),
    maxInputChars: int("EMBEDGE_MAX_INPUT_CHARS", 1, 10_000_000),
    maxOutputFloats: int("EMBEDGE_MAX_OUTPUT_FLOATS", 1, 1_000_000_000),
    log: onOff("EMBEDGE_LOG"),
    batching: {
      enabled: onOff("EMBEDGE_BATCHING"),
      maxQueue: int("EMBEDGE_MAX_QUEUE", 1, 10_000_000),
      maxWaitMs: int("EMBEDGE_BATCH_WAIT_MS", 0, 60_000),
    },
  };
  const batchTokens = int("EMBEDGE_BATCH_TOKENS", 1, 10_000_000);
  const workers = int("EMBEDGE_WORKERS", 0, 64);
  const dtype = get("EMBEDGE_DTYPE")?.trim();
  if (dtype !== undefined && !Object.hasOwn(DTYPE_FILES, dtype)) {
    throw new ConfigError(
      "EMBEDGE_DTYPE",
      `must be one of ${Object.keys(DTYPE_FILES).join(", ")}, not ${JSON.stringify(dtype)}`,
    );
  }
  const model = get("EMBEDGE_MODEL");
  if (model !== undefined && model.trim() === "") {
    throw new ConfigError("EMBEDGE_MODEL", "is empty: unset it for the default model");
  }
  const predictModel = get("EMBEDGE_PREDICT_MODEL");
  if (predictModel !== undefined && predictModel.trim() === "") {
    throw new ConfigError("EMBEDGE_PREDICT_MODEL", "is empty: unset it to serve no classifier");
  }
  const promptName = get("EMBEDGE_DEFAULT_PROMPT_NAME");
  if (promptName !== undefined && promptName.trim() === "") {
    throw new ConfigError(
      "EMBEDGE_DEFAULT_PROMPT_NAME",
      "is empty: name one of the model's prompts, or none",
    );
  }
  return {
    app,
    classifiers,
    ...(promptName !== undefined
      ? { defaultPromptName: promptName.trim() === "none" ? null : promptName.trim() }
      : {}),
    ...(model !== undefined ? { model } : {}),
    ...(predictModel !== undefined ? { predictModel } : {}),
    ...(dtype !== undefined ? { dtype: dtype as Dtype } : {}),
    ...(batchTokens !== undefined ? { batchTokens } : {}),
    ...(workers !== undefined ? { workers } : {}),
    headerTimeoutMs: int("EMBEDGE_HEADER_TIMEOUT_MS", 0, 3_600_000) ?? 10_000,
    port: int("PORT", 0, 65535) ?? 8080,
    host: host(get("HOST")),
  };
}
