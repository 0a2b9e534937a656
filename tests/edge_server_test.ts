/**
 * End to end: the Deno server (`edge/deno.ts`) started on 127.0.0.1 by the test, called
 * over HTTP with the official `openai` npm client (`baseURL` pointed at it); its vectors
 * equal the library's.
 */
import OpenAI from "openai";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { ConfigError, serverConfig, serverFlags } from "../edge/config.ts";
import { hasShared, shared } from "./support/paths.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { freePort, startDenoServer } from "./support/local_server.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

Deno.test({
  name: "Deno server + official openai client: vectors equal the library's",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    const { url, proc } = await startDenoServer(model.dir, { EMBEDGE_API_KEY: "k-123" }, 30);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "k-123", maxRetries: 0 });
      const texts = ["I love Paris.", "I adore Paris.", "I hate traffic."];
      const res = await client.embeddings.create({ model: "embedge", input: texts });
      const lib = await Embedder.load(model.dir);
      const expected = await lib.embed(texts, { normalize: true });
      assertEquals(res.data.length, 3);
      res.data.forEach((d, i) =>
        d.embedding.forEach((x, k) => assert(Math.abs(x - expected.data[i * 32 + k]) < 1e-6))
      );
      assert(res.usage.prompt_tokens > 0);
      const floats = await client.embeddings.create({
        model: "embedge",
        input: "I love Paris.",
        encoding_format: "float",
      });
      assertEquals(floats.data[0].embedding.length, 32);
      let status = 0;
      try {
        await new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 }).embeddings
          .create({
            model: "embedge",
            input: "x",
          });
      } catch (e) {
        status = (e as { status: number }).status;
      }
      assertEquals(status, 401);
      await lib.close();
    } finally {
      proc.kill("SIGTERM");
      await proc.status;
    }
  },
});

Deno.test({
  name:
    "Deno server with EMBEDGE_PREDICT_MODEL: /predict answers as the classifier, POST / dispatches to it",
  ignore: ignore || !hasShared("models/embedge-mini-sst2/onnx/model.onnx"),
  async fn() {
    const sst2 = shared("models/embedge-mini-sst2");
    const { url, proc } = await startDenoServer(shared("models/embedge-mini-simcse"), {
      EMBEDGE_PREDICT_MODEL: sst2,
      EMBEDGE_WORKERS: "0",
      EMBEDGE_HEADER_TIMEOUT_MS: "0",
    }, 60);
    const classifier = await TextClassifier.load(sst2);
    try {
      const [expected] = await classifier.classify(["i love paris ."]);
      // /predict in TEI's shape; the root as a batch of one (the Inference API's shape)
      for (const [path, answer] of [["/predict", expected], ["/", [expected]]] as const) {
        const res = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs: "i love paris ." }),
        });
        assertEquals([res.status, await res.json()], [200, answer], path);
      }
    } finally {
      await classifier.close();
      proc.kill("SIGTERM");
      await proc.status;
    }
  },
});

Deno.test("configuration: every variable is checked; a bad one is named", () => {
  const ok = serverConfig({
    EMBEDGE_TIMEOUT_MS: "500",
    EMBEDGE_MAX_QUEUE: "64",
    EMBEDGE_BATCHING: "off",
    EMBEDGE_CORS_ORIGINS: "https://a.example, http://localhost:3000",
    EMBEDGE_CLASSIFIERS: "sentiment=.cache/sst2.json",
    PORT: "9000",
    EMBEDGE_DTYPE: "int8",
    EMBEDGE_BATCH_TOKENS: "2048",
    EMBEDGE_WORKERS: "2",
  });
  assertEquals([ok.dtype, ok.batchTokens, ok.workers], ["int8", 2048, 2]);
  assertEquals(ok.app.timeoutMs, 500);
  assertEquals(ok.app.batching, { enabled: false, maxQueue: 64, maxWaitMs: undefined });
  assertEquals(ok.app.corsOrigins, ["https://a.example", "http://localhost:3000"]);
  assertEquals(ok.classifiers, [["sentiment", ".cache/sst2.json"]]);
  assertEquals([ok.port, ok.host], [9000, "127.0.0.1"]);
  for (
    const [name, value] of [
      ["EMBEDGE_TIMEOUT_MS", "abc"],
      ["EMBEDGE_TIMEOUT_MS", "0"],
      ["EMBEDGE_MAX_QUEUE", "abc"],
      ["EMBEDGE_MAX_QUEUE", "1.5"],
      ["EMBEDGE_BATCH_WAIT_MS", "-1"],
      ["EMBEDGE_API_KEY", ""],
      ["EMBEDGE_API_KEY", "   "],
      ["EMBEDGE_BATCHING", "maybe"],
      ["EMBEDGE_LOG", "loud"],
      ["EMBEDGE_CORS_ORIGINS", ","],
      ["EMBEDGE_CORS_ORIGINS", "not an origin"],
      ["EMBEDGE_CLASSIFIERS", "nopath"],
      ["EMBEDGE_MAX_INPUTS", "0"],
      ["PORT", "70000"],
      ["EMBEDGE_DTYPE", "int4"],
      ["EMBEDGE_BATCH_TOKENS", "0"],
      ["EMBEDGE_WORKERS", "-1"],
      ["EMBEDGE_MAX_OUTPUT_FLOATS", "0"],
      ["EMBEDGE_BODY_TIMEOUT_MS", "soon"],
      ["EMBEDGE_DTYPE", "toString"],
      // plain decimal integers only
      ["PORT", "0x10"],
      ["EMBEDGE_TIMEOUT_MS", "1e3"],
      ["EMBEDGE_MAX_INPUTS", "+5"],
      ["EMBEDGE_MAX_QUEUE", "0b11"],
      ["EMBEDGE_WORKERS", " "],
      // a key no HTTP client can send
      ["EMBEDGE_API_KEY", "clé-secrète"],
      ["EMBEDGE_API_KEY", "two words"],
      ["EMBEDGE_MODEL", ""],
      ["HOST", "my host"],
    ]
  ) {
    const e = assertThrows(() => serverConfig({ [name]: value }), ConfigError);
    assertEquals(e.variable, name, `${name}=${JSON.stringify(value)}`);
  }
});

Deno.test("server flags: --port, --host, --model and TEI's --model-id/--hostname set their variables; unknown or empty flags are named", () => {
  const f = serverFlags(["--port", "9999", "--host=0.0.0.0", "--model-id", "m", "--demo-model"]);
  assertEquals(f.vars, { PORT: "9999", HOST: "0.0.0.0", EMBEDGE_MODEL: "m" });
  assertEquals([f.flagOf.PORT, f.demo, f.help], ["--port", true, false]);
  assertEquals(serverFlags(["--hostname", "::1", "--model=d"]).vars, {
    HOST: "::1",
    EMBEDGE_MODEL: "d",
  });
  assertEquals(serverFlags(["-h"]).help, true);
  const c = serverConfig({ PORT: "8080", ...serverFlags(["--port", "9999"]).vars });
  assertEquals(c.port, 9999);
  assertEquals(serverConfig({ PORT: "007" }).port, 7);
  // TEI's classifier routes: --predict-model sets EMBEDGE_PREDICT_MODEL; empty is refused
  const p = serverFlags(["--predict-model", "dir"]).vars;
  assertEquals(p, { EMBEDGE_PREDICT_MODEL: "dir" });
  assertEquals(serverConfig(p).predictModel, "dir");
  assertEquals(serverConfig({}).predictModel, undefined);
  assertEquals(
    assertThrows(() => serverConfig({ EMBEDGE_PREDICT_MODEL: " " }), ConfigError).variable,
    "EMBEDGE_PREDICT_MODEL",
  );
  for (
    const [args, name] of [[["--frob"], "--frob"], [["--port"], "--port"], [["x"], "x"]] as [
      string[],
      string,
    ][]
  ) {
    const e = assertThrows(() => serverFlags(args), ConfigError);
    assertEquals(e.variable, name);
  }
});

Deno.test({
  name: "the Deno server takes --port and says where it listens; a bad flag is one line, exit 2",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    const port = freePort();
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname]
        .concat(["--port", String(port), "--model", model.dir]),
      env: { PORT: "1", EMBEDGE_LOG: "off", EMBEDGE_WORKERS: "0" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("\n")) said += (await reader.read()).value ?? "";
    try {
      assert(said.includes(`listening on http://127.0.0.1:${port}`), said);
      assert(said.includes("--host 0.0.0.0"), said);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
    } finally {
      proc.kill("SIGTERM");
      await reader.cancel();
      await proc.status;
    }
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname, "--port", "0x10"],
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(bad.stderr).trim();
    assertEquals([bad.code, err.split("\n").length], [2, 1], err);
    assert(err.startsWith("error: --port:"), err);
  },
});

Deno.test({
  name: "the Deno server refuses to start on a bad variable: one line, exit 2",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    for (
      const [name, value] of [
        ["EMBEDGE_TIMEOUT_MS", "abc"],
        ["EMBEDGE_API_KEY", ""],
        ["EMBEDGE_CLASSIFIERS", "s=/nonexistent.json"],
        ["EMBEDGE_THREADS", "many"],
        ["EMBEDGE_API_KEY", "naïve"],
        ["EMBEDGE_MODEL", `/tmp/${"m".repeat(5000)}`],
      ]
    ) {
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname],
        env: { EMBEDGE_MODEL: model.dir, PORT: "0", EMBEDGE_LOG: "off", [name]: value },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // a server that starts anyway is stopped, so that the test fails instead of hanging
      const stop = setTimeout(() => proc.kill("SIGTERM"), 60_000);
      const { code, stderr } = await proc.output();
      clearTimeout(stop);
      const err = new TextDecoder().decode(stderr).trim();
      assertEquals(code, 2, `${name}=${value}: ${err}`);
      assertEquals(err.split("\n").length, 1, err);
      const needle = { EMBEDGE_THREADS: "threads", EMBEDGE_MODEL: "no model directory" }[name];
      assert(err.includes(needle ?? name), err);
    }
  },
});

Deno.test({
  name:
    "a request body that stalls is a 408 on time; a client that leaves mid-body is a 499 in the metrics, never a 500",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 23, layers: 1 });
    const { url, proc } = await startDenoServer(model.dir, {
      EMBEDGE_BODY_TIMEOUT_MS: "300",
      EMBEDGE_WORKERS: "0",
    });
    const port = Number(new URL(url).port);
    const head = (length: number) =>
      `POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    try {
      // a body shorter than its Content-Length: the server answers 408 once 300 ms have passed
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const t0 = performance.now();
      await conn.write(new TextEncoder().encode(head(100) + '{"inputs":'));
      const buf = new Uint8Array(4096);
      const n = await Promise.race([
        conn.read(buf),
        new Promise<null>((r) => setTimeout(() => r(null), 5000)),
      ]);
      const ms = performance.now() - t0;
      conn.close();
      const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      assert(answer.startsWith("HTTP/1.1 408"), `answer after ${ms} ms: ${answer.slice(0, 80)}`);
      assert(answer.includes('"param":"body"'), answer);
      assert(ms >= 280 && ms < 1500, `408 after ${ms} ms`);
      // clients that send half a body and leave
      for (let i = 0; i < 5; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        await c.write(new TextEncoder().encode(head(100) + '{"inputs":'));
        c.close();
      }
      await new Promise((r) => setTimeout(r, 800));
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const count = (status: number) =>
        Number(
          metrics.match(
            new RegExp(`embedge_requests_total\\{route="/embed",status="${status}"\\} (\\d+)`),
          )?.[1] ?? 0,
        );
      assertEquals([count(499), count(500)], [5, 0], metrics.slice(0, 600));
    } finally {
      proc.kill("SIGTERM");
      await proc.status;
    }
  },
});

/**
 * The deadline middleware listens to `request.signal` for clients that leave. Deno.serve's
 * legacy signal also aborts after every successful answer and, since Deno 2.9, says so on
 * stderr at the first request; deno.json opts in to the new behaviour (`unstable:
 * no-legacy-abort`: the signal aborts only when the client goes away), so a user's server
 * log holds no such warning.
 */
Deno.test({
  name: "Deno server: no Deno.serve warning on stderr after requests (request.signal)",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    const { url, proc } = await startDenoServer(
      model.dir,
      { EMBEDGE_WORKERS: "0" },
      60,
      "piped",
    );
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${url}/embed`, {
          method: "POST",
          body: JSON.stringify({ inputs: "I love Paris." }),
        });
        assertEquals(r.status, 200);
        await r.arrayBuffer();
      }
    } finally {
      proc.kill("SIGTERM");
    }
    const stderr = new TextDecoder().decode((await proc.output()).stderr);
    assert(stderr.includes("listening on"), stderr);
    assert(!stderr.includes("Deno.serve:"), stderr);
  },
});
