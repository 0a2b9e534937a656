/**
 * Which engine a graph runs on, for both sessions (session.ts: an encoder's hidden states;
 * logits_session.ts: a head's logits): on the WASM backend embedge's kernels when they
 * take the graph (and the caller's `usable` accepts what they made), else onnxruntime; the
 * note says why not the kernels, that their plain-SIMD build runs, and, on Node when `auto`
 * fell back from onnxruntime-node, which engine runs instead (printed once per note).
 *
 * @example
 * ```ts
 * import { chooseEngine } from "./choose_engine.ts";
 * import { loadRuntime } from "./runtimes.ts";
 * const bytes = await Deno.readFile("../shared/models/embedge-mini-mlm/onnx/model.onnx");
 * const runtime = await loadRuntime("wasm");
 * const { session, engine } = await chooseEngine(bytes, { layers: 4 }, runtime, 0, []);
 * console.log(engine); // embedge-kernels
 * await session?.release();
 * ```
 * @module
 */
import { nativeProblem, type Runtime } from "./runtimes.ts";
import type { OrtSession } from "../onnx/ort_session.ts";
import { plainKernelsReason } from "../kernels/kernel_session.ts";
import { type Engine, kernelSession, type SessionOptions } from "./open_session.ts";

/** What chooseEngine decided: the kernels' session when they run it, else none yet. */
export interface EngineChoice {
  session?: OrtSession;
  engine: Engine;
  engineNote?: string;
}

/** How a caller words the kernels' refusal, and whether it can use their session. */
export interface KernelsFit {
  /** The note for a graph the kernels' reader refused (default: the reader's reason). */
  refused?: (reason: string) => string;
  /** Why the kernels' session cannot serve this caller (it is released), else undefined. */
  unusable?: (session: OrtSession) => string | undefined;
}

/** The engine for `bytes` on `runtime` (see the module comment). */
export async function chooseEngine(
  bytes: Uint8Array,
  options: SessionOptions,
  runtime: Runtime,
  threads: number,
  states: string[],
  fit: KernelsFit = {},
): Promise<EngineChoice> {
  let session: OrtSession | undefined;
  let engine: Engine = runtime.name === "native" ? "onnxruntime-node" : "onnxruntime-web";
  let engineNote: string | undefined;
  if (runtime.name === "wasm") {
    const kernels = await kernelSession(bytes, options, threads, states);
    const unusable = typeof kernels === "string" ? undefined : fit.unusable?.(kernels);
    if (typeof kernels === "string") engineNote = fit.refused?.(kernels) ?? kernels;
    else if (unusable !== undefined) {
      await kernels.release();
      engineNote = unusable;
    } else {
      [session, engine] = [kernels, "embedge-kernels"];
      const plain = await plainKernelsReason(options.kernelsWasm);
      if (plain) engineNote = plainBuildNote(plain);
    }
  }
  if (runtime.name === "wasm" && !options.wasm && (options.backend ?? "auto") === "auto") {
    const note = await nodeFallbackNote(engine, engineNote);
    if (note) {
      engineNote = note;
      if (!warned.has(note)) {
        warned.add(note);
        console.warn(`embedge: ${note}`);
      }
    }
  }
  return { ...(session ? { session } : {}), engine, ...(engineNote ? { engineNote } : {}) };
}

/** Node's major version, or undefined on other runtimes (Deno has `process` too). */
function nodeMajor(): number | undefined {
  if ("Deno" in globalThis) return undefined;
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
    ?.node;
  return node ? Number(node.split(".")[0]) : undefined;
}

/**
 * Why the kernels run their plain-SIMD build (the relaxed build did not compile). Node 20's
 * V8 (11.3) has relaxed SIMD behind a flag only (Node 22's V8 ships it), so there the fix is
 * the flag, and the note names it.
 */
function plainBuildNote(reason: string): string {
  const node = nodeMajor();
  const why = node !== undefined && node < 22
    ? `Node ${node} validates relaxed SIMD only with --experimental-wasm-relaxed-simd`
    : reason;
  return `the kernels' plain-SIMD build runs (multiply, then add): ${why}`;
}

// Notes already printed: a process that loads many models says each thing once
const warned = new Set<string>();

/**
 * On Node, the one line saying which engine runs and why, when `auto` fell back from
 * onnxruntime-node: there the fallback is easy to miss (npm drops the optional package
 * silently) and costs 3-5× in speed. Undefined elsewhere and when native runs.
 */
async function nodeFallbackNote(engine: Engine, kernelsNote?: string): Promise<string | undefined> {
  if (nodeMajor() === undefined) return undefined;
  const native = await nativeProblem();
  if (!native) return undefined;
  if (!kernelsNote) return `${native}; running ${engine}`;
  return engine === "embedge-kernels"
    ? `${native}; running ${engine} (${kernelsNote})`
    : `${native}; running ${engine} (not embedge's kernels: ${kernelsNote})`;
}
