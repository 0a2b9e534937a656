/**
 * edge/header_guard/: the time limit on request heads in front of Deno.serve. Most tests
 * run the guard in this process in front of a small Deno.serve on a Unix socket and talk
 * raw HTTP/1.1 to it; the ones about the served API (slowloris, descriptors, SIGTERM)
 * start the real Deno server (edge/deno.ts).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { guardHeaders } from "../edge/header_guard/guard.ts";
import { parseRequestHead } from "../edge/header_guard/request_head.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { startDenoServer } from "./support/local_server.ts";
import { concat } from "../src/model/onnx/protobuf.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const text = new TextEncoder();
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Deno.serve on a Unix socket with the guard in front, for `fn`; both closed after. */
async function withGuard(
  handler: (request: Request) => Response | Promise<Response>,
  limits: { headerTimeoutMs?: number; idleTimeoutMs?: number },
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const path = (await Deno.makeTempDir({ prefix: "embedge-guard-" })) + "/app.sock";
  const server = Deno.serve({ path, onListen() {} }, handler);
  const guard = guardHeaders({
    hostname: "127.0.0.1",
    port: 0,
    upstream: path,
    headerTimeoutMs: limits.headerTimeoutMs ?? 10_000,
    idleTimeoutMs: limits.idleTimeoutMs ?? 60_000,
    maxHeaderBytes: 65_536,
  });
  try {
    await fn(guard.addr.port);
  } finally {
    await guard.close();
    await server.shutdown();
    await Deno.remove(path.slice(0, -"/app.sock".length), { recursive: true });
  }
}

/**
 * Reads until the connection closes (`closed`), `enough` says so (a string: it ends the
 * text; a number: that many bytes came), or `limitMs` passes (a generous bound: the
 * assertions are on what arrived, never on how fast).
 */
async function readUntil(
  conn: Deno.Conn,
  limitMs: number,
  enough: string | number = Infinity,
): Promise<{ text: string; closed: boolean }> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const buf = new Uint8Array(65536);
  const until = Date.now() + limitMs;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"late">((r) => timer = setTimeout(() => r("late"), until - Date.now())),
    ]);
    clearTimeout(timer);
    if (n === null || n === "late") return { text: decode(concat(chunks)), closed: n === null };
    chunks.push(buf.slice(0, n));
    bytes += n;
    const done = typeof enough === "number"
      ? bytes >= enough
      : decode(buf.subarray(Math.max(0, n - enough.length), n)).endsWith(enough);
    if (done) return { text: decode(concat(chunks)), closed: false };
  }
}

/** The status lines of the answers in `raw`, in order. */
const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);

Deno.test("request heads: method and body framing; what hyper refuses is a bad head", () => {
  const head = (s: string) => parseRequestHead(text.encode(s));
  assertEquals(head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), { method: "GET", body: 0 });
  assertEquals(head("GET / HTTP/1.1\n\n"), { method: "GET", body: 0 });
  assertEquals(head("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), {
    method: "POST",
    body: 12,
  });
  assertEquals(head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), {
    method: "POST",
    body: "chunked",
  });
  for (
    const bad of [
      "GARBAGE\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
  ) assertEquals(head(bad), "bad head", JSON.stringify(bad));
});

Deno.test("a valid request then a bad head: the valid answer first, then the guard's 400 or 431", async () => {
  await withGuard(() => new Response("fine"), {}, async (port) => {
    for (
      const [second, status] of [
        ["GARBAGE\r\nfoo\r\n\r\n", "400"],
        [`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`, "431"],
      ]
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(text.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + second)).catch(() => {});
      const answer = await readUntil(conn, 10_000);
      conn.close();
      assertEquals(statuses(answer.text), ["200", status], answer.text.slice(0, 300));
      assert(answer.text.includes("\r\n\r\nfine"), answer.text);
      assert(answer.text.includes('"param":"headers"'), answer.text);
      assert(answer.closed, "the connection stays open after the refusal");
    }
  });
});

Deno.test("bare-LF heads are answered as hyper answers them, and the connection goes on", async () => {
  await withGuard(() => new Response("fine"), {}, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(text.encode("GET /health HTTP/1.1\n\n"));
    const first = await readUntil(conn, 10_000, "fine");
    await conn.write(text.encode("\r\nGET /health HTTP/1.1\nHost: x\r\n\n"));
    const second = await readUntil(conn, 10_000, "fine");
    conn.close();
    assertEquals(statuses(first.text), ["200"], first.text);
    assertEquals(statuses(second.text), ["200"], second.text);
  });
});

Deno.test("a half-closed request gets its answer, then the connection closes", async () => {
  await withGuard(
    async () => {
      await new Promise((r) => setTimeout(r, 100)); // the answer comes after the half-close
      return new Response("fine");
    },
    {},
    async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(text.encode("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
      await conn.closeWrite();
      const answer = await readUntil(conn, 10_000);
      conn.close();
      assertEquals(statuses(answer.text), ["200"], answer.text);
      assert(answer.text.endsWith("fine"), answer.text);
      assert(answer.closed, "the connection stays open");
    },
  );
});

Deno.test("idle counts from the answer fully written: a slow reader gets all of a large answer", async () => {
  // far more than the sockets between hold (the old guard cut it at 3.9 MB of 8 MiB)
  const big = "x".repeat(32 << 20);
  await withGuard(() => new Response(big), { idleTimeoutMs: 300 }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(text.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // not reading for four idle limits: the guard is still writing the answer meanwhile
    await new Promise((r) => setTimeout(r, 1200));
    const answer = await readUntil(conn, 30_000, big.length);
    const body = answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4);
    assertEquals(body.length, big.length, `closed: ${answer.closed}`);
    // and once it is written, the idle limit closes the connection
    const after = await readUntil(conn, 10_000);
    conn.close();
    assertEquals([after.text, after.closed], ["", true]);
  });
});

Deno.test("clients that never read their answers: the guard stops reading their answers, so what it holds stays bounded", async () => {
  const answer = new Uint8Array(1 << 20).fill(0x79); // 1 MiB
  let served = 0;
  await withGuard(() => (served++, new Response(answer)), {}, async (port) => {
    const before = Deno.memoryUsage().rss;
    // 8 clients pipeline 64 requests each for a 1 MiB answer (512 MiB in all) and never read
    const requests = text.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64));
    const conns = await Promise.all(
      Array.from({ length: 8 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    await Promise.all(conns.map((c) => c.write(requests)));
    // until the server stops answering (the sockets between are full: unchanged for 1.5 s),
    // or makes more answers than the bound, at most 10 s
    const start = Date.now();
    let seen = served, since = start;
    while (Date.now() - start < 10_000 && served <= 64) {
      await new Promise((r) => setTimeout(r, 100));
      if (served !== seen) [seen, since] = [served, Date.now()];
      else if (Date.now() - since >= 1500) break;
    }
    const grown = (Deno.memoryUsage().rss - before) / 2 ** 20;
    for (const c of conns) c.close();
    // Deno.serve alone made 4 answers a connection on our loopback before its writes blocked
    // (32). Held per connection: the sockets' buffers, one 64 KiB read, an answer in the
    // server's hands. Buffering in the guard would let all 512 through (and hold them)
    assert(served <= 8 * 8, `${served} of 512 answers made, rss +${grown.toFixed(0)} MiB`);
  });
});

Deno.test("a chunked body is followed to its end: the next request on the connection is guarded and answered", async () => {
  await withGuard(
    async (r) => new Response(`${r.method} ${(await r.text()).length}`),
    { headerTimeoutMs: 300 },
    async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(text.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n" +
          "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      ));
      const two = await readUntil(conn, 10_000, "GET 0");
      assertEquals(statuses(two.text), ["200", "200"], two.text);
      assert(two.text.includes("POST 7"), two.text);
      // a third head that trickles past the limit: 408 (it is watched, not passed on blind)
      await conn.write(text.encode("GET / HTTP/1.1\r\n"));
      const slow = await readUntil(conn, 10_000);
      conn.close();
      assertEquals(statuses(slow.text), ["408"], slow.text);
    },
  );
});

/** Open descriptors of a process (Linux). */
const openFds = (pid: number) => [...Deno.readDirSync(`/proc/${pid}/fd`)].length;

Deno.test({
  name:
    "chunked GET /health, a byte after the answer, close: the server's descriptors come back, and SIGTERM ends it",
  ignore: ignore || Deno.build.os !== "linux",
  async fn() {
    const model = await makeTestModel({ seed: 31, layers: 1 });
    const { url, proc } = await startDenoServer(model.dir, { EMBEDGE_WORKERS: "0" });
    const port = Number(new URL(url).port);
    let exited = false;
    try {
      const exchange = async (request: string, after?: Uint8Array) => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(text.encode(request));
        const answer = await readUntil(conn, 10_000, '{"status":"ok"}');
        if (after) await conn.write(after).catch(() => {});
        conn.close();
        return answer.text;
      };
      // the level: after a plain request on its own connection (startDenoServer's fetch is done)
      await exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await new Promise((r) => setTimeout(r, 300));
      const level = openFds(proc.pid);
      for (let i = 0; i < 60; i++) {
        const answer = await exchange(
          "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
          new Uint8Array([0x41]),
        );
        assertEquals(statuses(answer), ["200"], answer);
      }
      // they come back soon; 60 leaked connections would be 180 descriptors
      let now = openFds(proc.pid);
      for (let tries = 0; tries < 100 && now > level; tries++) {
        await new Promise((r) => setTimeout(r, 100));
        now = openFds(proc.pid);
      }
      assert(now <= level, `descriptors: ${level} before, ${now} after`);
      // SIGTERM while connections are stuck: one that never reads its answers (the guard's
      // writes to it and Deno.serve's to the guard are blocked), one mid chunked body
      const stuck = await Deno.connect({ hostname: "127.0.0.1", port });
      await stuck.write(text.encode("GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(400)));
      const midBody = await Deno.connect({ hostname: "127.0.0.1", port });
      await midBody.write(
        text.encode("POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"),
      );
      await new Promise((r) => setTimeout(r, 500));
      proc.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        proc.status,
        new Promise<null>((r) => timer = setTimeout(() => r(null), 30_000)),
      ]);
      clearTimeout(timer);
      exited = status !== null;
      stuck.close();
      midBody.close();
      assert(exited, "the server did not exit within 30 s of SIGTERM");
    } finally {
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.status;
      }
    }
  },
});

/**
 * Slowloris: clients that trickle their headers. Deno.serve has no limit on them, so the
 * Deno entry serves through edge/header_guard/: a head that does not arrive within
 * EMBEDGE_HEADER_TIMEOUT_MS of its first byte gets a 408 naming `headers` and the
 * connection closes, while the server answers others; keep-alive, pipelined requests and
 * a chunked body pass through as before, and an oversized head gets a 431.
 */
Deno.test({
  name:
    "request headers that trickle get a 408 on time (slowloris), other clients are served; keep-alive, pipelining and chunked bodies pass the guard",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 29, layers: 1 });
    const { url, proc } = await startDenoServer(model.dir, {
      EMBEDGE_HEADER_TIMEOUT_MS: "400",
      EMBEDGE_WORKERS: "0",
    });
    const port = Number(new URL(url).port);
    const text = new TextEncoder(), decode = (b: Uint8Array) => new TextDecoder().decode(b);
    const readAll = async (conn: Deno.Conn, limitMs: number) => {
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      const until = Date.now() + limitMs;
      for (;;) {
        const n = await Promise.race([
          conn.read(buf).catch(() => null),
          new Promise<"late">((r) => setTimeout(() => r("late"), Math.max(0, until - Date.now()))),
        ]);
        if (n === null || n === "late") {
          return { text: decode(concat(chunks)), closed: n === null };
        }
        chunks.push(buf.slice(0, n));
      }
    };
    try {
      // 40 clients trickle a header line every 100 ms, for longer than the limit
      const slow = await Promise.all(Array.from({ length: 40 }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        const t0 = performance.now();
        await conn.write(text.encode("POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        const trickle = (async () => {
          for (let i = 0; i < 30; i++) {
            await new Promise((r) => setTimeout(r, 100));
            try {
              await conn.write(text.encode(`X-Slow-${i}: yes\r\n`));
            } catch {
              return;
            }
          }
        })();
        const answer = await readAll(conn, 3000);
        const ms = performance.now() - t0;
        await trickle;
        conn.close();
        return { ...answer, ms };
      }));
      // meanwhile (and after) the server answers others
      const health = await fetch(`${url}/health`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      for (const s of slow) {
        assert(s.text.startsWith("HTTP/1.1 408"), `after ${s.ms} ms: ${s.text.slice(0, 60)}`);
        assert(s.text.includes('"param":"headers"'), s.text);
        assert(s.closed, "the connection stays open after the 408");
        assert(s.ms >= 380 && s.ms < 2000, `408 after ${s.ms} ms`);
      }
      // two requests pipelined on one connection, bodies by Content-Length: two answers
      const body = JSON.stringify({ inputs: "I love Paris." });
      const request =
        `POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${text.encode(body).length}\r\n\r\n${body}`;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(text.encode(request + request));
      let answers = "";
      for (let tries = 0; tries < 50 && answers.split("HTTP/1.1 200").length < 3; tries++) {
        answers += (await readAll(conn, 100)).text;
      }
      conn.close();
      assertEquals(answers.split("HTTP/1.1 200").length - 1, 2, answers.slice(0, 300));
      // keep-alive: three requests in turn on one fetch client, the answers equal
      const vectors = [];
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${url}/embed`, { method: "POST", body });
        vectors.push(await r.json());
      }
      assertEquals(vectors[1], vectors[0]);
      assertEquals(vectors[2], vectors[0]);
      // a chunked body (a stream): the same answer
      const streamed = await fetch(`${url}/embed`, {
        method: "POST",
        body: new Blob([body]).stream(),
      });
      assertEquals(await streamed.json(), vectors[0]);
      // a head over 64 KiB: 431
      const big = await Deno.connect({ hostname: "127.0.0.1", port });
      await big.write(
        text.encode(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`),
      )
        .catch(() => {});
      const refused = await readAll(big, 2000);
      big.close();
      assert(refused.text.startsWith("HTTP/1.1 431"), refused.text.slice(0, 60));
    } finally {
      proc.kill("SIGTERM");
      await proc.status;
    }
  },
});
