/**
 * Before/after benchmark of two revisions of this repository (issue 25: the restructure of
 * src/model must measure level). Each revision gets a detached git worktree in a temporary
 * directory (node_modules linked from this checkout, `shared` linked beside the worktrees so
 * that their `../shared` resolves, and `EMBEDGE_SHARED` set as well); then, for each of
 * - the tokenizer (`encode` per line and `encodeBatch` of 64 over big.txt, MB/s),
 * - inference (the MiniLM export structure with generated weights on the WASM backend,
 *   one thread: the kernels; a fixed set of big.txt sentences at batch 1/8/32),
 * - HTTP load (that revision's Deno server, `edge/deno.ts`, with `POST /embed` from
 *   `--connections` clients),
 * it starts a child process in one worktree, then the other, in turn (before, after,
 * before, after …, `--rounds` each): bench/before_after_child.ts copied into both, so the
 * measuring code is the same and the measured code is each revision's own. Every child warms
 * up, then reports the median of its passes; the table gives per side the median over the
 * rounds with min–max, and after/before. Both sides read the same model file and the same
 * texts. Writes `before-after-<stamp>-<host>.{json,md}` and a plot (bench/write_results.ts).
 *
 * "after" is a commit: changes not committed are not measured.
 *
 * @example
 * ```sh
 * deno run -A bench/before_after.ts                       # b250a4f vs HEAD, ~5-10 minutes
 * deno run -A bench/before_after.ts --before main~3 --after main
 * deno run -A bench/before_after.ts --quick --out /tmp/x  # smoke run, about a minute
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { interleaved, sampleLines } from "./sides.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";
import {
  beforeAfterMarkdown,
  beforeAfterPlot,
  type Kind,
  summarize,
} from "./before_after_report.ts";

/** The last commit with src/model flat, before issue 25's moves and splits. */
export const BEFORE = "b250a4f";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    before: { type: "string" },
    after: { type: "string", default: "HEAD" },
    rounds: { type: "string", default: "5" },
    // timed passes inside each child, after its warm-up pass
    passes: { type: "string", default: "2" },
    texts: { type: "string", default: "32" },
    connections: { type: "string", default: "32" },
    seconds: { type: "string", default: "8" },
    "warmup-seconds": { type: "string", default: "2" },
    // EMBEDGE_BACKEND of both servers (default: the server's own, auto)
    "http-backend": { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const quick = args.quick!;
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const sharedDir = Deno.realPathSync(
  Deno.env.get("EMBEDGE_SHARED") ?? new URL("../../shared/", import.meta.url).pathname,
);

/** Runs git in this checkout; its stdout, trimmed, or an error with its stderr. */
async function git(...gitArgs: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("git", {
    args: ["-C", repo, ...gitArgs],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (code !== 0) throw new Error(`git ${gitArgs.join(" ")}: ${text.decode(stderr).trim()}`);
  return text.decode(stdout).trim();
}

/** A revision as a commit: what was asked, the full hash and the subject's start. */
async function commitOf(rev: string) {
  const sha = await git("rev-parse", "--verify", `${rev}^{commit}`);
  const subject = await git("log", "-1", "--format=%s", sha);
  return { rev, sha, subject: subject.length > 100 ? `${subject.slice(0, 100)}…` : subject };
}

/**
 * The "before" commit: `--before`, else BEFORE. A quick run in a checkout without BEFORE's
 * history (a shallow clone) compares HEAD with itself: the smoke run tests the machinery.
 */
async function beforeCommit() {
  if (args.before) return await commitOf(args.before);
  try {
    return await commitOf(BEFORE);
  } catch (e) {
    if (!quick) throw e;
    console.error(`before_after: ${BEFORE} is not in this checkout; the smoke run uses HEAD`);
    return await commitOf("HEAD");
  }
}

const commits = { before: await beforeCommit(), after: await commitOf(args.after!) };
type Side = keyof typeof commits;
const SIDES: Side[] = ["before", "after"];
const rounds = quick ? 1 : Number(args.rounds);
const settings = {
  rounds,
  passes: quick ? 1 : Number(args.passes),
  lines: quick ? 3000 : 0, // tokenizer: big.txt lines, 0 = all
  texts: quick ? 8 : Number(args.texts),
  batches: quick ? [1, 8] : [1, 8, 32],
  connections: quick ? 8 : Number(args.connections),
  seconds: quick ? 2 : Number(args.seconds),
  warmupSeconds: quick ? 1 : Number(args["warmup-seconds"]),
  backend: args["http-backend"],
};
if (!(rounds >= 1)) throw new Error(`--rounds must be at least 1: ${args.rounds}`);

const work = await Deno.makeTempDir({ prefix: "embedge-before-after-" });
const dirOf = (side: Side) => `${work}/${side}`;

/** The two worktrees, each with node_modules, `../shared` and the child script. */
async function prepare(): Promise<void> {
  await Deno.symlink(sharedDir, `${work}/shared`);
  const child = new URL("./before_after_child.ts", import.meta.url).pathname;
  for (const side of SIDES) {
    await git("worktree", "add", "--detach", dirOf(side), commits[side].sha);
    await Deno.symlink(Deno.realPathSync(`${repo}/node_modules`), `${dirOf(side)}/node_modules`);
    await Deno.copyFile(child, `${dirOf(side)}/bench/before_after_child.ts`);
  }
}

/** Removes the worktrees (and git's record of them) and the temporary directory. */
async function cleanUp(): Promise<void> {
  for (const side of SIDES) {
    await git("worktree", "remove", "--force", dirOf(side)).catch((e) => console.error(`${e}`));
  }
  await git("worktree", "prune").catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/** 1-minute load average when each child started. */
const loadAtChild: number[] = [];

/** Runs one measurement in `side`'s worktree; its JSON result. */
async function runChild(side: Side, mode: Kind, childArgs: object) {
  loadAtChild.push(os.loadavg()[0]);
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${dirOf(side)}/bench/before_after_child.ts`,
      mode,
      JSON.stringify(childArgs),
    ],
    cwd: dirOf(side),
    env: { EMBEDGE_SHARED: `${work}/shared` },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`${mode} on ${side} (${commits[side].sha}) failed (${code})`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Wall seconds each measurement took, children's start-up and model loads included. */
const secondsPerKind: Partial<Record<Kind, number>> = {};

/** `rounds` children of `mode` per side, interleaved; each side's results in order. */
async function measure(mode: Kind, childArgs: object) {
  const t0 = performance.now();
  const results: Record<Side, { engine: string; metrics: Record<string, number> }[]> = {
    before: [],
    after: [],
  };
  const side = (s: Side) => async () => {
    results[s].push(await runChild(s, mode, childArgs));
    const last = results[s][results[s].length - 1].metrics;
    console.error(`${mode} ${s} round ${results[s].length}: ${JSON.stringify(last)}`);
  };
  // each child warms up before it times, so no warm-up children
  await interleaved({ before: side("before"), after: side("after") }, rounds, false);
  secondsPerKind[mode] = (performance.now() - t0) / 1000;
  return results;
}

// Ctrl-C: the worktrees are removed too (git would otherwise keep listing them)
Deno.addSignalListener("SIGINT", () => cleanUp().finally(() => Deno.exit(130)));
/** Prepares the worktrees, measures the three in turn, and returns the report. */
async function run() {
  const started = performance.now();
  const loadBefore = os.loadavg();
  await prepare();
  const modelDir = await benchMiniLmStructure(sharedDir);
  const corpus = `${sharedDir}/corpus/big.txt`;
  const sentences = Deno.readTextFileSync(corpus).split("\n").map((l) => l.trim())
    .filter((l) => l.length > 0);
  const textsFile = `${work}/texts.json`;
  await Deno.writeTextFile(textsFile, JSON.stringify(sampleLines(sentences, settings.texts, 7)));
  const common = { ...settings, corpus, textsFile };
  const kinds = {
    tokenizer: await measure("tokenizer", {
      ...common,
      modelDir: `${sharedDir}/models/all-MiniLM-L6-v2`,
    }),
    inference: await measure("inference", { ...common, modelDir }),
    http: await measure("http", { ...common, modelDir }),
  };
  return {
    benchmark: "before-after",
    machine: machine(),
    load: {
      before: loadBefore,
      after: os.loadavg(),
      atEachChild: loadAtChild,
      medianAtChildren: median(loadAtChild),
    },
    commits,
    // removed when the run ends (the smoke test checks it is gone)
    worktreesDir: work,
    settings,
    model: "all-MiniLM-L6-v2 structure (generated weights); tokenizer: all-MiniLM-L6-v2's",
    wallSeconds: (performance.now() - started) / 1000,
    secondsPerKind,
    kinds: Object.fromEntries(
      Object.entries(kinds).map(([kind, r]) => [kind, summarize(r.before, r.after)]),
    ),
  };
}

const report = await run().finally(cleanUp);
const markdown = beforeAfterMarkdown(report);
// a quick run without --out writes into a temporary directory, not bench/results/
const out = args.out ?? (quick ? await Deno.makeTempDir({ prefix: "embedge-bench-" }) : undefined);
const stem = await writeResults("before-after", report, markdown, beforeAfterPlot(report), out);
console.log(markdown);
console.error(`results: ${out ?? "bench/results"}/${stem}.md`);
