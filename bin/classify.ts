/**
 * `classify`: a sentiment (or any label) classifier on BERT sentence embeddings.
 *
 * - `train --data train.tsv [--dev dev.tsv] [--pooling mean] [--out clf.json]`: embeds the
 *   texts in batches (progress bar; cached on disk under `.cache/embeddings`, so a second
 *   run does not embed again), trains logistic regression, prints dev metrics.
 * - `eval --classifier clf.json --data dev.tsv`: accuracy, per-class table, confusion matrix.
 * - `predict --classifier clf.json [text …]` (or stdin lines): label and probability,
 *   JSONL for several texts.
 *
 * The model: `--model`, else (eval, predict) the one the head file names (train records it),
 * else the default of src/model/default_model.ts. A head file is checked whole before use
 * (src/classifier/load.ts): a broken one is one line and exit 2.
 *
 * @example
 * ```sh
 * deno run -A bin/classify.ts train --data ../shared/datasets/sst2/train.tsv --dev ../shared/datasets/sst2/dev.tsv --out sst2.json
 * deno run -A bin/classify.ts predict --classifier sst2.json "I love Paris" "I hate traffic"
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import {
  downloadBars,
  joinLayerValues,
  parseLayers,
  progressBar,
  refuseKernelPath,
  runCli,
  UsageError,
} from "./run_cli.ts";
import { InputError } from "../src/errors.ts";
import type { Embedder } from "../src/model/embedder.ts";
import { fitClassifier, readClassifier } from "../src/classifier/load.ts";
import { wholeNumber } from "./tokenize.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { parseTable } from "../src/classifier/dataset.ts";
import { embedCached as embedCachedWithCache, setupOptions } from "../src/classifier/cache.ts";
import {
  type Classifier,
  type EmbeddingSetup,
  evaluate,
  predictProba,
  train,
} from "../src/classifier/logistic.ts";
import {
  chooseDemoModel,
  chooseModel,
  loadChoice,
  type ModelChoice,
} from "../src/model/default_model.ts";
import { isHubId } from "../src/model/hub.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;

/** Sentence vectors for texts through the on-disk cache, with a progress bar. */
function embedCached(
  embedder: Embedder,
  setup: EmbeddingSetup,
  texts: string[],
  cacheDir: string,
): Promise<Float32Array> {
  return embedCachedWithCache(embedder, setup, texts, cacheDir, progressBar("embedding"));
}

/** Class indices of labels, in the order of `labels` (sorted unique by default). */
function indexLabels(
  values: string[],
  labels = [...new Set(values)].sort(),
): { y: Int32Array; labels: string[] } {
  const at = new Map(labels.map((l, i) => [l, i]));
  const y = Int32Array.from(values, (v, i) => {
    const c = at.get(v);
    if (c === undefined) {
      throw new InputError(
        `row ${i + 2}: label ${JSON.stringify(v)} is not one of ${labels.join(", ")}`,
        "label",
      );
    }
    return c;
  });
  return { y, labels };
}

function printMetrics(m: ReturnType<typeof evaluate>): void {
  console.log(`accuracy: ${(100 * m.accuracy).toFixed(2)}%`);
  console.log("label       precision  recall     f1         support");
  for (const c of m.perClass) {
    console.log(
      `${c.label.padEnd(12)}${c.precision.toFixed(4).padEnd(11)}${c.recall.toFixed(4).padEnd(11)}${
        c.f1.toFixed(4).padEnd(11)
      }${c.support}`,
    );
  }
  console.log("confusion (rows: truth, columns: predicted):");
  for (const [i, row] of m.confusion.entries()) {
    console.log(`  ${m.perClass[i].label.padEnd(10)} ${row.join(" ")}`);
  }
}

const HELP = `usage: classify train|eval|predict [options]
  train --data FILE [--dev FILE] [--out clf.json]   embed the rows, train, print dev metrics
  eval --classifier clf.json --data FILE             accuracy, per-class table, confusion
  predict --classifier clf.json [text ...]           label and probability (stdin lines if no text)
options:
  --model DIR|ID         model (default: the one the classifier names, else EMBEDGE_MODEL,
                         else all-MiniLM-L6-v2 with weights, else embedge-mini-simcse)
  --demo-model           embedge's generated BERT with random weights (meaningless vectors)
  --pooling MODE         cls | mean | max | mean_max | pooler (train; default: the model's)
  --layers=LIST          encoder layers (train), e.g. --layers=-2 or --layers=-4,-3,-2,-1
  --layer-mix MODE       mean | concat (train)
  --l2 X                 L2 strength (train; default 1e-4)
  --text-column NAME     text column of the table (default: sentence or text)
  --label-column NAME    label column of the table (default: label)
  --limit N              use the first N rows
  --cache DIR            embedding cache (default .cache/embeddings)
  --json                 JSONL output for predict
  -h, --help             this text`;

/** Where a model is, as the head file records it: an absolute directory, or a Hub id. */
function modelLocation(choice: ModelChoice): string {
  const source = choice.source;
  if (isHubId(source) || source.startsWith("/")) return source;
  return `${Deno.cwd()}/${source}`.replace(/\/\.\//g, "/").replace(/\/$/, "");
}

/**
 * Fails now, not after an hour of embedding, when `--out` cannot be written, and refuses the
 * kernel's file systems outright: under /proc and /sys a "file" can be a setting (a head
 * written to /proc/sys/kernel/hostname renames the machine), under /dev a device.
 */
async function checkWritable(path: string): Promise<void> {
  await refuseKernelPath("--out", path);
  const slash = path.lastIndexOf("/");
  const existed = await Deno.stat(path).then(() => true, () => false);
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  (await Deno.open(path, { write: true, create: true, append: true })).close();
  if (!existed) await Deno.remove(path);
}

async function main(): Promise<number> {
  const [command, ...rest] = Deno.args[0]?.startsWith("-") ? ["", ...Deno.args] : Deno.args;
  const { values: a, positionals } = parseArgs({
    args: joinLayerValues(rest),
    options: {
      model: { type: "string" },
      "demo-model": { type: "boolean", default: false },
      data: { type: "string" },
      dev: { type: "string" },
      out: { type: "string", default: "classifier.json" },
      classifier: { type: "string" },
      pooling: { type: "string" },
      layers: { type: "string" },
      "layer-mix": { type: "string" },
      l2: { type: "string" },
      "text-column": { type: "string" },
      "label-column": { type: "string" },
      limit: { type: "string" },
      cache: { type: "string", default: here("../.cache/embeddings") },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (a.help || command === "--help" || command === "-h") {
    console.log(HELP);
    return 0;
  }
  if (!["train", "eval", "predict"].includes(command)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(command ?? "")}: classify train|eval|predict (--help)`,
    );
  }
  // eval and predict run the head's own model unless --model names another
  const head = command === "train" ? undefined : await readHead(a.classifier, command);
  if (command === "train") await checkWritable(a.out!);
  const choice = a["demo-model"]
    ? await chooseDemoModel(a.model)
    : await chooseModel(a.model ?? head?.model);
  if (choice.note) console.error(choice.note);
  const embedder = await loadChoice(choice, { onDownload: downloadBars() });
  const limit = a.limit ? wholeNumber("limit", a.limit, 1) : Infinity;
  const table = (path: string) => {
    const t = parseTable(Deno.readTextFileSync(path), {
      textColumn: a["text-column"],
      labelColumn: a["label-column"],
    });
    return { texts: t.texts.slice(0, limit), labels: t.labels.slice(0, limit) };
  };

  if (command === "train") {
    if (!a.data) throw new InputError("train needs --data", "data");
    const setup: EmbeddingSetup = {
      modelId: embedder.info.modelId,
      pooling: (a.pooling as Pooling) ?? embedder.info.pooling,
      normalize: embedder.info.normalize,
      maxLength: 128,
      ...(a.layers ? { layers: parseLayers(a.layers) } : {}),
      ...(a["layer-mix"] ? { layerMix: a["layer-mix"] as EmbeddingSetup["layerMix"] } : {}),
    };
    const data = table(a.data);
    const { y, labels } = indexLabels(data.labels);
    const X = await embedCached(embedder, setup, data.texts, a.cache!);
    const clf: Classifier = {
      ...train(X, y, embedder.dimensions(setup.pooling as Pooling, setup), labels, {
        embedding: setup,
        ...(a.l2 !== undefined ? { l2: Number(a.l2) } : {}),
      }),
      // the head remembers its model: eval, predict and the server load it again
      ...(choice.demo ? {} : { model: modelLocation(choice) }),
    };
    await Deno.writeTextFile(a.out!, JSON.stringify(clf));
    const t = clf.training;
    console.error(
      `trained on ${data.texts.length} rows (L-BFGS ${t.iterations} iterations, ${
        t.converged ? "converged" : "NOT converged"
      }, loss ${t.loss.toFixed(5)}) → ${a.out}`,
    );
    if (a.dev) {
      const dev = table(a.dev);
      const { y: yd } = indexLabels(dev.labels, labels);
      printMetrics(evaluate(clf, await embedCached(embedder, setup, dev.texts, a.cache!), yd));
    }
    return 0;
  }

  // the model must be the one it was trained on; its pooling is taken from the artifact
  const clf = await fitClassifier(head!, embedder);
  const setup = clf.embedding;
  if (command === "eval") {
    if (!a.data) throw new InputError("eval needs --data", "data");
    const data = table(a.data);
    const { y } = indexLabels(data.labels, clf.labels);
    printMetrics(evaluate(clf, await embedCached(embedder, setup, data.texts, a.cache!), y));
    return 0;
  }
  const texts = positionals.length
    ? positionals
    : (await new Response(Deno.stdin.readable).text()).split(/\r?\n/).filter((l) => l.length);
  if (!texts.length) throw new InputError("predict needs texts (arguments or stdin lines)", "text");
  const out = await embedder.embed(texts, setupOptions(setup));
  const probs = predictProba(clf, out.data);
  const k = clf.labels.length;
  texts.forEach((text, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    const row = { text, label: clf.labels[best], score: probs[i * k + best] };
    console.log(
      texts.length > 1 || a.json ? JSON.stringify(row) : `${row.label} (${row.score.toFixed(3)})`,
    );
  });
  return 0;
}

/** The head file of eval / predict, read and checked whole. */
function readHead(path: string | undefined, command: string): Promise<Classifier> {
  if (!path) throw new InputError(`${command} needs --classifier`, "classifier");
  return readClassifier(path);
}

if (import.meta.main) await runCli(main);
