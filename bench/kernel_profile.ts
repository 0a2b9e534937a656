/**
 * Where the kernels' time goes: each export of `wasm/kernels/bert.ts` timed as the sessions
 * call it, for int8 and fp32 on the kernels, on the MiniLM structure with bench/int8_kernels.ts's
 * texts and slices (1, 8, 32), one thread. The kernel instances are wrapped at creation
 * (WebAssembly.Instance is replaced in this process only), so the sessions run unchanged;
 * the timer costs ~1 µs per call against ~60 calls per run. `attention` includes its own
 * score and context products. Prints a table of ms per pass and the share of each export,
 * and the matrix products' GMAC/s; `--json` also writes the numbers there.
 *
 * @example
 * ```sh
 * deno run -A bench/kernel_profile.ts             # 3 passes per side and batch
 * deno run -A bench/kernel_profile.ts --passes 5 --json /tmp/profile.json
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { passes: { type: "string", default: "3" }, json: { type: "string" } },
});
const PASSES = Number(args.passes);

/** Milliseconds and multiply-adds per export, for the side being measured. */
type Tally = Record<string, { ms: number; calls: number; macs: number }>;
let tally: Tally = {};

/** Multiply-adds of one call, for the products (M, K, N are the last three arguments). */
function macs(name: string, a: number[]): number {
  if (name.startsWith("linear")) {
    const [M, K, N] = a.slice(-3);
    return M * K * N;
  }
  if (name === "attention") {
    const [B, S, heads, headSize] = a.slice(4, 8);
    return 2 * B * heads * S * S * headSize;
  }
  return 0;
}

const Original = WebAssembly.Instance;
class TimedInstance {
  exports: Record<string, unknown>;
  constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    const real = new Original(module, imports).exports;
    const wrapped: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(real)) {
      if (typeof value !== "function") {
        wrapped[name] = value;
        continue;
      }
      const f = value as (...a: number[]) => unknown;
      wrapped[name] = (...a: number[]) => {
        const t0 = performance.now();
        const r = f(...a);
        const entry = tally[name] ??= { ms: 0, calls: 0, macs: 0 };
        entry.ms += performance.now() - t0;
        entry.calls++;
        entry.macs += macs(name, a);
        return r;
      };
    }
    this.exports = wrapped;
  }
}
(WebAssembly as { Instance: unknown }).Instance = TimedInstance;

const { Embedder } = await import("../src/model/embedder.ts");
const { sampleLines } = await import("./sides.ts");
const dir = new URL("../.cache/bench-minilm-int8/", import.meta.url).pathname;
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
try {
  await Deno.stat(`${dir}/onnx/model_int8.onnx`);
} catch {
  throw new Error(`${dir} is missing: run bench/int8_kernels.ts once, it writes the models`);
}
const sides = {
  int8: await Embedder.load(dir, { backend: "wasm", threads: 1, dtype: "int8", kernels: true }),
  fp32: await Embedder.load(dir, { backend: "wasm", threads: 1, dtype: "fp32", kernels: true }),
};
const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 0);
const texts = sampleLines(lines, 128, 7);
const options = { pooling: "mean", normalize: true } as const;

const out: Record<string, Record<string, { total: number; exports: Tally }>> = {};
console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const bs of [1, 8, 32]) {
  const slices = Array.from(
    { length: Math.ceil(texts.length / bs) },
    (_, i) => texts.slice(i * bs, (i + 1) * bs),
  );
  out[`batch ${bs}`] = {};
  const tallies: Record<string, Tally> = {};
  const totals: Record<string, number> = {};
  for (const side of Object.keys(sides) as (keyof typeof sides)[]) {
    for (const s of slices) await sides[side].embed(s, options); // warm-up
    tallies[side] = {};
    totals[side] = 0;
  }
  // sides interleaved pass by pass, as bench/sides.ts does
  for (let pass = 0; pass < PASSES; pass++) {
    for (const side of Object.keys(sides) as (keyof typeof sides)[]) {
      tally = tallies[side];
      const t0 = performance.now();
      for (const s of slices) await sides[side].embed(s, options);
      totals[side] += performance.now() - t0;
    }
  }
  console.log(`\nbatch ${bs} (ms per pass of 128 texts, mean of ${PASSES})`);
  const names = [...new Set(Object.values(tallies).flatMap((t) => Object.keys(t)))];
  names.sort((a, b) => (tallies.fp32[b]?.ms ?? 0) - (tallies.fp32[a]?.ms ?? 0));
  const row = (cells: string[]) =>
    console.log(cells.map((c, i) => i ? c.padStart(16) : c.padEnd(22)).join(""));
  row(["export", "int8 ms", "int8 %", "fp32 ms", "fp32 %", "int8 GMAC/s", "fp32 GMAC/s"]);
  for (const name of names) {
    const cell = (side: string) => {
      const e = tallies[side][name];
      if (!e) return ["", "", ""];
      const ms = e.ms / PASSES;
      return [
        ms.toFixed(1),
        (100 * e.ms / totals[side]).toFixed(1),
        e.macs ? (e.macs / e.ms / 1e6).toFixed(1) : "",
      ];
    };
    const [i8, i8p, i8g] = cell("int8"), [f, fp, fg] = cell("fp32");
    row([name, i8, i8p, f, fp, i8g, fg]);
  }
  row([
    "total (embed calls)",
    (totals.int8 / PASSES).toFixed(1),
    "100",
    (totals.fp32 / PASSES).toFixed(1),
    "100",
    "",
    "",
  ]);
  console.log(`fp32 / int8: ${(totals.fp32 / totals.int8).toFixed(2)}×`);
  for (const side of Object.keys(tallies)) {
    out[`batch ${bs}`][side] = { total: totals[side] / PASSES, exports: tallies[side] };
  }
}
console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const e of Object.values(sides)) await e.close();
if (args.json) Deno.writeTextFileSync(args.json, JSON.stringify(out, null, 2));
