/**
 * Writes one benchmark run into `bench/results/` (or `outDir`): `NAME-STAMP.json` with every
 * number, `NAME-STAMP.md` with the tables and the plot, and `plots/NAME-STAMP.svg` rendered
 * from a vega-lite spec (width, height and a subtitle with date and CPU filled in).
 *
 * @example
 * ```ts
 * import { writeResults } from "./write_results.ts";
 * import { machine } from "./machine.ts";
 * const dir = await Deno.makeTempDir();
 * await writeResults("demo", { machine: machine() }, "# demo", {
 *   title: "demo",
 *   data: { values: [{ x: 1 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "x", type: "quantitative" } },
 * }, dir);
 * console.log([...Deno.readDirSync(dir)].length); // 3
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { Machine } from "./machine.ts";

/** Writes the run; returns the files' common stem. */
export async function writeResults(
  name: string,
  report: { machine: Machine },
  markdown: string,
  // deno-lint-ignore no-explicit-any
  plot: Record<string, any>,
  outDir = new URL("./results", import.meta.url).pathname,
): Promise<string> {
  const m = report.machine;
  const out = outDir.replace(/\/$/, "");
  const stem = `${name}-${m.date.replace(/[:.]/g, "-")}-${m.host}`;
  Deno.mkdirSync(`${out}/plots`, { recursive: true });
  const title = typeof plot.title === "string" ? plot.title : plot.title?.text;
  const spec = vl.compile({
    width: 420,
    height: 160,
    ...plot,
    title: { text: title, subtitle: `${m.date.slice(0, 10)} · ${m.cpu}` },
  } as vl.TopLevelSpec).spec;
  const svg = await new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
  Deno.writeTextFileSync(`${out}/plots/${stem}.svg`, svg);
  Deno.writeTextFileSync(`${out}/${stem}.json`, JSON.stringify(report, null, 2));
  Deno.writeTextFileSync(`${out}/${stem}.md`, `${markdown}\n![plot](plots/${stem}.svg)\n`);
  return stem;
}
