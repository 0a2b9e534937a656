/**
 * Labelled text tables (CSV or TSV with a header row), e.g. SST-2's `sentence<TAB>label`.
 *
 * @example
 * ```ts
 * import { parseTable } from "./dataset.ts";
 * const t = parseTable("sentence\tlabel\ngreat movie\t1\nawful\t0\n");
 * console.log(t.texts, t.labels); // ["great movie", "awful"] ["1", "0"]
 * ```
 * @module
 */
import { InputError } from "../errors.ts";

/** Texts and their labels, in file order. */
export interface Table {
  texts: string[];
  labels: string[];
}

/** Parses a table; the text column is `textColumn` (else sentence/text), labels `labelColumn` (else label). */
export function parseTable(
  content: string,
  options: { textColumn?: string; labelColumn?: string; requireLabels?: boolean } = {},
): Table {
  const lines = content.replace(/^\ufeff/, "").split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new InputError("the table is empty", "data");
  const tsv = lines[0].includes("\t");
  const split = tsv ? (l: string) => l.split("\t") : parseCsvLine;
  const header = split(lines[0]).map((h) => h.trim());
  const find = (want: string | undefined, defaults: string[]) => {
    const names = want ? [want] : defaults;
    return header.findIndex((h) => names.includes(h));
  };
  const ti = find(options.textColumn, ["sentence", "text"]);
  if (ti < 0) {
    throw new InputError(
      `no text column ${options.textColumn ?? "sentence/text"} in header ${JSON.stringify(header)}`,
      "textColumn",
    );
  }
  const li = find(options.labelColumn, ["label"]);
  if (li < 0 && options.requireLabels !== false) {
    throw new InputError(
      `no label column ${options.labelColumn ?? "label"} in header ${JSON.stringify(header)}`,
      "labelColumn",
    );
  }
  const texts: string[] = [], labels: string[] = [];
  lines.slice(1).forEach((line, n) => {
    const cells = split(line);
    if (cells.length < header.length) {
      throw new InputError(
        `row ${n + 2} has ${cells.length} columns, the header ${header.length}`,
        "data",
      );
    }
    texts.push(cells[ti]);
    labels.push(li >= 0 ? cells[li].trim() : "");
  });
  return { texts, labels };
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
