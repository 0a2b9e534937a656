/**
 * The library in a real browser: `examples/browser/` served with the browser bundle
 * (bin/build_browser.ts) and embedge-mini-simcse, driven in Debian's headless Chromium
 * through playwright-core (the Chrome DevTools Protocol; no browser download). The page's
 * vectors must equal the library's in Deno within 1e-5, on embedge's kernels. And the
 * server's `/docs`: Swagger UI renders every route of the OpenAPI document, and "Try it
 * out" with the documented example request gets a 200 from the server.
 *
 * Chromium is required under `CI=true` (`.ci/run` installs it); locally a machine without
 * it skips the test.
 */
import { chromium } from "playwright-core";
import { assert, assertEquals } from "./support/assert.ts";
import { exists, hasShared, shared, tempDir } from "./support/paths.ts";
import { buildBrowser } from "../bin/build_browser.ts";
import { serveBrowserDemo } from "../bin/browser_demo.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { installedDocsAssets } from "../edge/docs.ts";

const CHROMIUM = "/usr/bin/chromium";
// as root and offline: no sandbox, and no background calls to Google's hosts
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const model = shared("models/embedge-mini-simcse");
const haveModel = hasShared("models/embedge-mini-simcse/onnx/model.onnx");
if (Deno.env.get("CI") === "true" && !exists(CHROMIUM)) {
  throw new Error(`CI=true but ${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
}

Deno.test({
  name:
    "browser: the example page embeds with the bundle in headless Chromium, on the kernels, equal to Deno within 1e-5",
  ignore: !haveModel || !exists(CHROMIUM),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bundle = await tempDir("embedge-browser-");
    const sizes = await buildBrowser(bundle);
    assert(sizes["embedge.js"] < 2_000_000, `bundle of ${sizes["embedge.js"]} bytes`);
    const server = serveBrowserDemo({ bundle, model, port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForFunction(() => "embedge" in globalThis, undefined, { timeout: 120_000 });
      const result = await page.evaluate(() =>
        (globalThis as unknown as {
          embedge: { sentences: string[]; engine: string; vectors: number[]; dims: number[] };
        }).embedge
      );
      assertEquals(errors, []);
      assertEquals(result.sentences, ["I love Paris.", "I adore Paris.", "I hate traffic."]);
      assertEquals(result.engine, "embedge-kernels");
      // the page shows the tokens as the model saw them, and the matrix
      const firstRow = await page.locator("table.tokens").first().locator("tr").first()
        .innerText();
      assert(firstRow.includes("[CLS]") && firstRow.includes("paris"), firstRow);
      assertEquals(await page.locator("#similarity tr").count(), 4);
      await page.screenshot({ path: `${bundle}/page.png`, fullPage: true });

      const embedder = await Embedder.load(model, { backend: "wasm" });
      const ours = await embedder.embed(result.sentences);
      assertEquals(result.dims, ours.dims);
      let maxDiff = 0;
      for (let i = 0; i < ours.data.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - result.vectors[i]));
      }
      // the same kernels on the same CPU: measured 0 here; 1e-5 leaves room for a CPU whose
      // relaxed multiply-add is not fused (≤ 1.4e-6 measured with FMA off)
      assert(maxDiff <= 1e-5, `page vs Deno: max abs diff ${maxDiff}`);
      await embedder.close();
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "browser: /docs renders every route with Swagger UI, served offline, and Try it out with the example answers 200",
  ignore: !haveModel || !exists(CHROMIUM),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const embedder = await Embedder.load(model);
    const docsAssets = await installedDocsAssets();
    assert(docsAssets, "swagger-ui-dist is installed (a dependency)");
    const app = createApp(embedder, { log: false, docsAssets });
    const server = Deno.serve({ port: 0, onListen() {} }, app.fetch);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const outside: string[] = []; // the page must load nothing from another host
      page.on("request", (r) => {
        if (!r.url().startsWith(`http://127.0.0.1:${server.addr.port}/`)) outside.push(r.url());
      });
      await page.goto(`http://127.0.0.1:${server.addr.port}/docs`);
      const documented = Object.values(
        (await (await app.request("/openapi.json")).json()).paths as Record<string, object>,
      ).reduce((n, methods) => n + Object.keys(methods).length, 0);
      await page.waitForFunction(
        // runs in the page, where `document` is the page's
        (n) =>
          (globalThis as unknown as { document: { querySelectorAll(s: string): unknown[] } })
            .document.querySelectorAll(".opblock").length >= n,
        documented,
        { timeout: 60_000 },
      );
      assertEquals(await page.locator(".opblock").count(), documented);
      // POST /embed: open it, read the example body, Execute
      const embed = page.locator("#operations-default-post_embed");
      await embed.locator(".opblock-summary").click();
      // tryItOutEnabled: the body is editable at once, filled with the documented example
      const body = await embed.locator("textarea.body-param__text").inputValue();
      assertEquals(JSON.parse(body), { inputs: ["I love Paris.", "I adore Paris."] });
      await embed.getByRole("button", { name: "Execute" }).click();
      const status = embed.locator(".live-responses-table tr.response .response-col_status")
        .first();
      await status.waitFor({ timeout: 60_000 });
      assertEquals((await status.innerText()).trim(), "200");
      await page.screenshot({ path: `${await tempDir("embedge-docs-")}/docs.png` });
      assertEquals(outside, [], `requests to other hosts: ${outside.join(", ")}`);
    } finally {
      await browser.close();
      await server.shutdown();
      await embedder.close();
    }
  },
});
