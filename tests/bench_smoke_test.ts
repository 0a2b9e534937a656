/**
 * Smoke test of the benchmark suite: `bench/run.ts --quick` runs every suite in smoke
 * mode into a temporary directory and writes the report and plots. A smoke run, not a
 * timing assertion.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";

Deno.test({
  name: "bench/run.ts --quick writes a report with headlines, its four SVG plots and the runs' own",
  ignore: !hasShared("models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx") ||
    !hasShared("corpus/big.txt"),
  async fn() {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../bench/run.ts", import.meta.url).pathname, "--quick"],
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assertEquals(code, 0, err.slice(-2000));
    const dir = err.match(/report: (.*)\/REPORT\.md/)![1];
    const report = await Deno.readTextFile(`${dir}/REPORT.md`);
    for (
      const h of [
        "Tokenizer on big.txt:",
        "Tokenizer on adversarial:",
        "Tokenizer cold start:",
        "Inference",
        "Padding:",
        "WASM backend (embedge-kernels, 1 thread) vs onnxruntime-node",
        "HTTP (",
        "embedge vs transformers.js",
        "CPU per request on the Worker's handler",
      ]
    ) {
      assert(report.includes(h), `report lacks ${h}`);
    }
    const plots = [...Deno.readDirSync(`${dir}/plots`)].map((e) => e.name).sort();
    // the report's four, and the runs' own (e.g. tokenizer-<stamp>.svg)
    for (
      const p of [
        "http-load.svg",
        "latency-vs-padding.svg",
        "throughput-vs-batch.svg",
        "tokenizer-mbps.svg",
      ]
    ) assert(plots.includes(p), `no ${p} among ${plots}`);
    assert(
      plots.some((p) => /^tokenizer-\d{4}-.*\.svg$/.test(p)),
      `no tokenizer run plot: ${plots}`,
    );
    for (const p of plots) {
      assert((await Deno.readTextFile(`${dir}/plots/${p}`)).startsWith("<svg"));
    }
  },
});
