/**
 * `GET /docs`: the OpenAPI document (`/openapi.json`) rendered by Swagger UI, with every
 * route's request and answer examples and "Try it out" against this server, served from the
 * server itself (no CDN: the page works offline and behind a firewall).
 *
 * Swagger UI's two files (`swagger-ui-bundle.js`, 1.8 MB, and `swagger-ui.css`) come from
 * the `swagger-ui-dist` package through a reader the entry point hands over: the Deno entry
 * reads them from the installed package; the Worker has none (its bundle stays small), and
 * there `/docs` is a plain page that lists the routes from the same document.
 *
 * @example
 * ```ts
 * import { Hono } from "../src/deps/hono.ts";
 * import { docsRoutes } from "./docs.ts";
 * const app = new Hono().route("/", docsRoutes(undefined));
 * const res = await app.request("/docs");
 * console.log(res.status, (await res.text()).includes("openapi.json")); // 200 true
 * ```
 * @module
 */
import { Hono } from "../src/deps/hono.ts";

/** Swagger UI's files, by name. */
export const DOCS_ASSETS = ["swagger-ui-bundle.js", "swagger-ui.css"] as const;
/** One of Swagger UI's files. */
export type DocsAsset = typeof DOCS_ASSETS[number];
/** Reads one of Swagger UI's files (undefined when it is not there). */
export type DocsAssets = (name: DocsAsset) => Promise<Uint8Array | undefined>;

const TYPES: Record<DocsAsset, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

/** The page with Swagger UI (relative URLs: the server may sit under a path prefix). */
function swaggerPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embedge API</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({ url: "openapi.json", dom_id: "#ui", tryItOutEnabled: true,
  defaultModelsExpandDepth: 0, displayRequestDuration: true, validatorUrl: null });
</script></body></html>`;
}

/** The plain page, for runtimes without Swagger UI's files: routes, summaries, examples. */
function plainPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embedge API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}h2{margin-top:2rem}.m{font-weight:bold;color:#06c}</style>
</head><body><h1>embedge API</h1><p id="d"></p><div id="p"></div>
<script>
fetch("openapi.json").then(r=>r.json()).then(doc=>{
  document.getElementById("d").textContent=doc.info.description;
  const root=document.getElementById("p");
  const show=(title,v)=>{if(v===undefined)return;const h3=document.createElement("h3");
    h3.textContent=title;const pre=document.createElement("pre");
    pre.textContent=JSON.stringify(v,null,2);root.append(h3,pre);};
  for(const [path,ops] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(ops)){
    const h=document.createElement("h2");
    h.innerHTML='<span class="m">'+m.toUpperCase()+'</span> <code></code>';
    h.querySelector("code").textContent=path;
    const p=document.createElement("p"); p.textContent=op.summary; root.append(h,p);
    const req=op.requestBody?.content["application/json"];
    show("request example",req?.example);
    const ok=op.responses["200"]?.content?.["application/json"];
    show("answer example",ok?.example);
  }
});
</script></body></html>`;
}

/**
 * `GET /docs` and Swagger UI's files under `/docs/`. Without `assets` (Workers) `/docs` is
 * the plain page.
 */
export function docsRoutes(assets: DocsAssets | undefined): Hono {
  const app = new Hono();
  app.get("/docs", (c) => c.html(assets ? swaggerPage() : plainPage()));
  if (assets) {
    for (const name of DOCS_ASSETS) {
      app.get(`/docs/${name}`, async (c) => {
        const bytes = await assets(name);
        if (!bytes) return c.notFound();
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
          "content-type": TYPES[name],
          // the file changes only with the package version
          "cache-control": "public, max-age=86400",
        });
      });
    }
  }
  return app;
}

/** The swagger-ui-dist version, exact as package.json pins it (tests/deps_test.ts checks). */
export const SWAGGER_UI_DIST_VERSION = "5.36.0";

/**
 * The module that locates swagger-ui-dist's files, pinned as the other npm packages are
 * (src/deps/): a versioned `npm:` specifier on Deno (no package.json needed in the
 * importer's folder), the bare name on Node. Built at run time, so bundlers never follow it.
 */
export function swaggerUiSpecifier(deno = "Deno" in globalThis): string {
  const name = ["swagger-ui-dist", "absolute-path.js"];
  return deno ? `npm:${name[0]}@${SWAGGER_UI_DIST_VERSION}/${name[1]}` : name.join("/");
}

/**
 * Swagger UI's files from the installed `swagger-ui-dist` package (Deno and Node; through a
 * computed import, so a Worker bundle never includes it), or undefined where it is absent.
 */
export async function installedDocsAssets(): Promise<DocsAssets | undefined> {
  try {
    const located = await import(swaggerUiSpecifier());
    const folder: string = (located.default ?? located)();
    const fs = await import(["node", "fs/promises"].join(":"));
    return async (name) => {
      try {
        return new Uint8Array(await fs.readFile(`${folder}/${name}`));
      } catch {
        return undefined;
      }
    };
  } catch {
    return undefined;
  }
}
