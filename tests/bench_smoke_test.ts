/**
 * Smoke test of the benchmark suite: `bench/run.ts --quick` runs every suite in smoke
 * mode into a temporary directory and writes the report and plots (in a git checkout the
 * before/after run too: both sides' numbers, and its worktrees removed afterwards). A smoke
 * run, not a timing assertion.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { exists, hasShared } from "./support/paths.ts";
import type { summarize } from "../bench/before_after_report.ts";

/** Whether this checkout is a git repository (bench/run.ts runs bench/before_after.ts then). */
const inGit = (() => {
  try {
    return new Deno.Command("git", {
      args: ["-C", new URL("..", import.meta.url).pathname, "rev-parse", "HEAD"],
      stdout: "null",
      stderr: "null",
    }).outputSync().code === 0;
  } catch {
    return false; // no git installed
  }
})();

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
    if (inGit) await checkBeforeAfter(dir, report);
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

/**
 * The before/after run: its REPORT.md line, both sides' numbers for the three measurements
 * (positive and finite, every round), an engine named on each side, and its worktrees gone.
 */
async function checkBeforeAfter(dir: string, report: string) {
  assert(report.includes("- Before/after (`"), "report lacks the before/after line");
  const file = [...Deno.readDirSync(dir)].map((e) => e.name)
    .find((n) => n.startsWith("before-after-") && n.endsWith(".json"));
  assert(file, "no before-after results");
  const run = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
  assertEquals(Object.keys(run.kinds), ["tokenizer", "inference", "http"]);
  const kinds: Record<string, ReturnType<typeof summarize>> = run.kinds;
  for (const [kind, k] of Object.entries(kinds)) {
    assert(k.engines.before && k.engines.after, `${kind}: engines ${JSON.stringify(k.engines)}`);
    assert(Object.keys(k.metrics).length > 0, `${kind}: no numbers`);
    for (const [name, v] of Object.entries(k.metrics)) {
      for (const side of ["before", "after"] as const) {
        assertEquals(v[side].values.length, run.settings.rounds, `${kind} ${name} ${side}`);
        for (const x of v[side].values) {
          assert(Number.isFinite(x) && x > 0, `${kind} ${name} ${side}: ${x}`);
        }
      }
    }
  }
  assert(!exists(run.worktreesDir), `${run.worktreesDir} was left behind`);
  const worktrees = new TextDecoder().decode(
    new Deno.Command("git", {
      args: ["-C", new URL("..", import.meta.url).pathname, "worktree", "list"],
      stdout: "piped",
    }).outputSync().stdout,
  );
  assert(!worktrees.includes(run.worktreesDir), `git still lists ${run.worktreesDir}`);
}
