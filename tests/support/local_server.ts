/**
 * Local servers for end-to-end tests and benchmarks: a free loopback port, and the Deno
 * server (`edge/deno.ts`) started on 127.0.0.1 with a model directory. Deno only.
 *
 * @example
 * ```ts
 * import { startDenoServer } from "./local_server.ts";
 * const { url, proc } = await startDenoServer(".cache/demo-model", { EMBEDGE_BATCHING: "off" });
 * console.log(await (await fetch(`${url}/health`)).json()); // { status: "ok" }
 * proc.kill("SIGTERM");
 * await proc.status;
 * ```
 * @module
 */

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts `edge/deno.ts` serving `modelDir` (request logs off; `env` adds or overrides
 * variables) and resolves when `/health` answers, or throws after `timeoutSeconds`.
 * `stderr: "piped"` keeps the server's stderr for the caller (`(await proc.output()).stderr`
 * once it is stopped).
 */
export async function startDenoServer(
  modelDir: string,
  env: Record<string, string> = {},
  timeoutSeconds = 60,
  stderr: "null" | "piped" = "null",
): Promise<{ url: string; proc: Deno.ChildProcess }> {
  const port = freePort();
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../edge/deno.ts", import.meta.url).pathname],
    env: {
      EMBEDGE_MODEL: modelDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDGE_LOG: "off",
      ...env,
    },
    stdout: "null",
    stderr,
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      if (r.ok) return { url, proc };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  await proc.status;
  throw new Error("the Deno server did not start");
}
