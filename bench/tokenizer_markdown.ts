/**
 * The Markdown page of a tokenizer run (bench/tokenizer.ts): per corpus, every
 * implementation's parity and MB/s in each mode with the headline ratio; encodeBatch by
 * batch size; cold start; the machine's load; the first mismatch of each peer that differs.
 *
 * @example
 * ```ts ignore
 * import { tokenizerMarkdown } from "./tokenizer_markdown.ts";
 * console.log(tokenizerMarkdown(report, impls));
 * ```
 * @module
 */
import type { machine } from "./machine.ts";

/** A rate with its spread. */
interface Rate {
  mbps: number;
  minMbps: number;
  maxMbps: number;
}

/** What bench/tokenizer.ts measured (its JSON), as far as the page reads it. */
export interface TokenizerReport {
  mode: string;
  machine: ReturnType<typeof machine>;
  load: { before: number[]; after: number[] };
  repetitions: number;
  heapCollectedBeforeEachRun: boolean;
  batchSize: number;
  corpora: Record<string, { lines: number; utf8Bytes: number }>;
  kitokenError?: string;
  parity: Record<string, Record<string, { checked: number; identical: number; example?: string }>>;
  throughput: (Rate & { name: string; mode: string; corpus: string })[];
  coldStart: { name: string; from: string; ms: number; minMs: number; maxMs: number }[];
  ratios: Record<string, {
    embedgeMode: string;
    embedgeMbps: number;
    peers: { name: string; peerMode: string; ratio: number }[];
    fastestIdenticalPeer?: string;
    ratioVsFastestIdenticalPeer?: number;
  }>;
  encodeBatch: (Rate & { corpus: string; batch: number | "single"; ofSingle: number })[];
}

/** The page; `impls` are the implementations in table order (kitoken compared on bare ids). */
export function tokenizerMarkdown(
  report: TokenizerReport,
  impls: readonly { name: string; bareIds?: boolean }[],
): string {
  // the names the page was written with, when it was part of tokenizer.ts
  const m = report.machine, REPETITIONS = report.repetitions, BATCH = report.batchSize;
  const [loadBefore, loadAfter] = [report.load.before, report.load.after];
  const { ratios, parity, throughput, encodeBatch, coldStart, kitokenError } = report;
  const corpusBytes = Object.fromEntries(
    Object.entries(report.corpora).map(([k, v]) => [k, v.utf8Bytes]),
  );
  const f = (x: number, d = 2) => x.toFixed(d);
  const overloaded = Math.max(loadBefore[0], loadAfter[0]) > m.cores;
  return [
    `# Tokenizer benchmark (${report.mode})`,
    "",
    `${m.date} · ${m.cpu} · ${m.cores} cores · ${m.memoryGiB} GiB · Deno ${m.deno} (V8 ${m.v8}) · load ${
      f(loadBefore[0])
    } before, ${f(loadAfter[0])} after`,
    ...(overloaded
      ? ["", `**Warning: the load exceeded the ${m.cores} cores during the run.**`]
      : []),
    "",
    `Median of ${REPETITIONS} interleaved repetitions (after a warm-up), min–max beside it; batch mode = ${BATCH} lines per call. Each peer is compared in its fastest mode. ${
      report.heapCollectedBeforeEachRun
        ? "Each timed run starts from a collected heap."
        : "The heap was not collected between runs (run with --v8-flags=--expose-gc)."
    }`,
    "",
    ...Object.entries(ratios).flatMap(([corpus, r]) => [
      `## ${corpus} (${report.corpora[corpus].lines} lines, ${f(corpusBytes[corpus] / 1e6)} MB)`,
      "",
      "| implementation | ids identical to HF tokenizers | one call per line MB/s | batch MB/s | embedge best ÷ its best |",
      "| --- | --- | ---: | ---: | ---: |",
      ...impls.map((i) => {
        const t = (mode: string) =>
          throughput.find((x) => x.name === i.name && x.mode === mode && x.corpus === corpus);
        const cell = (x?: { mbps: number; minMbps: number; maxMbps: number }) =>
          x ? `${f(x.mbps)} (${f(x.minMbps)}–${f(x.maxMbps)})` : "—";
        const p = parity[i.name][corpus];
        const peer = r.peers.find((x) => x.name === i.name);
        return `| ${i.name} | ${p.identical}/${p.checked}${i.bareIds ? " (bare ids)" : ""} | ${
          cell(t("single"))
        } | ${cell(t("batch"))} | ${peer ? `${f(peer.ratio, 1)}× (its ${peer.peerMode})` : "—"} |`;
      }),
      "",
      r.fastestIdenticalPeer
        ? `embedge (${r.embedgeMode}, ${f(r.embedgeMbps)} MB/s) is **${
          f(r.ratioVsFastestIdenticalPeer!, 1)
        }×** the fastest peer with identical ids (${r.fastestIdenticalPeer}, in its fastest mode).`
        : "No peer gave identical ids on this corpus.",
      "",
    ]),
    "## embedge encodeBatch by batch size (tensors for ONNX) against one encode per line",
    "",
    "| corpus | mode | MB/s (min–max) | of one call per line |",
    "| --- | --- | ---: | ---: |",
    ...encodeBatch.map((b) =>
      `| ${b.corpus} | ${
        b.batch === "single" ? "encode, one per line" : `encodeBatch of ${b.batch}`
      } | ${f(b.mbps)} (${f(b.minMbps)}–${f(b.maxMbps)}) | ${f(100 * b.ofSingle, 0)} % |`
    ),
    "",
    "## Cold start (to a ready tokenizer, median of interleaved loads)",
    "",
    "| implementation | from | ms (min–max) |",
    "| --- | --- | ---: |",
    ...coldStart.map((c) => `| ${c.name} | ${c.from} | ${f(c.ms)} (${f(c.minMs)}–${f(c.maxMs)}) |`),
    "",
    ...(kitokenError ? [`kitoken could not be loaded: ${kitokenError}`, ""] : []),
    ...Object.entries(parity).flatMap(([name, byCorpus]) =>
      Object.entries(byCorpus).filter(([, p]) => p.example).map(([corpus, p]) =>
        `- ${name} on ${corpus}, first mismatch: ${p.example}`
      )
    ),
    "",
  ].join("\n");
}
