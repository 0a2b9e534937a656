// embedge in a web page: tokens, attention mask and a cosine-similarity matrix of the
// sentences typed in. `npx deno task browser` builds the bundle and serves this page with
// a model; any static server works the same way (see docs/library.md, "In the browser").
import { cosine, Embedder } from "/embedge/embedge.js";

const model = new URLSearchParams(location.search).get("model") ?? "/model/";
const status = document.querySelector("#status");
const started = performance.now();
const embedder = await Embedder.load(new URL(model, location.href).href);
status.textContent = `model loaded in ${Math.round(performance.now() - started)} ms, ` +
  `engine ${embedder.info.engine}`;

/** One table row of cells, `th` for the first. */
function row(cells, className = "") {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const cell = document.createElement(i === 0 ? "th" : "td");
    cell.textContent = text;
    if (className && i > 0) cell.className = className;
    tr.append(cell);
  });
  return tr;
}

/** Tokens, ids and mask of each sentence, padded to the longest, as the model sees them. */
function showTokens(sentences) {
  const tokenizer = embedder.tokenizer;
  const longest = Math.max(...sentences.map((s) => tokenizer.encode(s).ids.length));
  const target = document.querySelector("#tokens");
  target.replaceChildren();
  sentences.forEach((sentence, i) => {
    const encoding = tokenizer.encode(sentence, { padding: "max_length", maxLength: longest });
    const table = document.createElement("table");
    table.className = "tokens";
    table.append(
      row([`#${i + 1} tokens`, ...encoding.tokens]),
      row(["ids", ...Array.from(encoding.ids, String)]),
      row(["attention mask", ...Array.from(encoding.attentionMask, String)]),
    );
    target.append(table);
  });
}

/** The sentences' vectors and their cosine matrix, drawn as a shaded table. */
async function showSimilarity(sentences) {
  const { data, dims } = await embedder.embed(sentences);
  const vectors = sentences.map((_, i) => data.subarray(i * dims[1], (i + 1) * dims[1]));
  const matrix = vectors.map((a) => vectors.map((b) => cosine(a, b)));
  // shade from the least similar pair (white) to identical (blue): small models put every
  // sentence close together, and an absolute scale would paint them all alike
  const low = Math.min(...matrix.flat());
  const table = document.createElement("table");
  table.append(row(["", ...sentences]));
  matrix.forEach((cosines, i) => {
    const tr = row([sentences[i], ...cosines.map((c) => c.toFixed(3))]);
    [...tr.children].slice(1).forEach((cell, j) => {
      const t = low < 1 ? (cosines[j] - low) / (1 - low) : 1;
      const shade = Math.round(255 - 140 * t);
      cell.style.background = `rgb(${shade}, ${shade}, 255)`;
    });
    table.append(tr);
  });
  document.querySelector("#similarity").replaceChildren(table);
  return { vectors: Array.from(data), dims };
}

async function run() {
  const sentences = document.querySelector("#sentences").value.split("\n")
    .map((s) => s.trim()).filter(Boolean);
  showTokens(sentences);
  // for the test (tests/browser_test.ts) and the curious: what this page computed
  globalThis.embedge = {
    sentences,
    engine: embedder.info.engine,
    ...await showSimilarity(sentences),
  };
}

document.querySelector("#run").addEventListener("click", run);
await run();
