// The Node side of bench/node_engines.ts: runs under plain `node` on the npm build (dist/),
// times the WASM engines side by side on one thread, interleaved, and prints JSON.
// argv: distDir modelDir corpus reps kernelsFile [kernelsFile …]
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";

const [distDir, modelDir, corpus, repsText, ...kernelFiles] = process.argv.slice(2);
const { Embedder } = await import(`${distDir}/mod.js`);
const reps = Number(repsText);
const texts = (await readFile(corpus, "utf8"))
  .split("\n").filter((l) => l.trim().length > 20).slice(0, 64);

const sides = {};
sides["onnxruntime-web"] = await Embedder.load(modelDir, { backend: "wasm", kernels: false });
for (const file of kernelFiles) {
  const bytes = await readFile(file);
  const name = file.slice(file.lastIndexOf("/") + 1);
  if (!WebAssembly.validate(bytes)) {
    sides[name] = null; // this runtime cannot run that build
    continue;
  }
  sides[name] = await Embedder.load(modelDir, {
    backend: "wasm",
    kernelsWasm: await WebAssembly.compile(bytes),
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const batch of [1, 8, 32]) {
  const slices = Array.from(
    { length: texts.length / batch },
    (_, i) => texts.slice(i * batch, (i + 1) * batch),
  );
  const run = (e) => async () => {
    for (const s of slices) await e.embed(s, { pooling: "mean", normalize: true });
  };
  const live = Object.entries(sides).filter(([, e]) => e);
  for (const [, e] of live) await run(e)(); // warm-up
  const ms = Object.fromEntries(live.map(([k]) => [k, []]));
  for (let r = 0; r < reps; r++) {
    for (const [k, e] of live) {
      const t0 = performance.now();
      await run(e)();
      ms[k].push(performance.now() - t0);
    }
  }
  // vectors of every side against onnxruntime-web's
  const reference = (await sides["onnxruntime-web"].embed(slices[0], { pooling: "mean" })).data;
  results[`batch ${batch}`] = Object.fromEntries(live.map(([k, e]) => [k, {
    sentencesPerSec: texts.length / (median(ms[k]) / 1000),
    range: [texts.length / (Math.max(...ms[k]) / 1000), texts.length / (Math.min(...ms[k]) / 1000)],
    engine: e.info.engine,
  }]));
  for (const [k, e] of live) {
    const v = (await e.embed(slices[0], { pooling: "mean" })).data;
    let d = 0;
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i] - reference[i]));
    results[`batch ${batch}`][k].maxAbsDiff = d;
  }
}
const unavailable = Object.entries(sides).filter(([, e]) => !e).map(([k]) => k);
console.log(
  JSON.stringify({
    node: process.version,
    v8: process.versions.v8,
    texts: texts.length,
    results,
    unavailable,
  }),
);
