/**
 * Runs a command-line `main`: exits with its code, and turns embedge's typed errors into
 * one line `error (code, field): message` and exit code 2, and so are the argument
 * parser's complaints (unknown or ambiguous options: `error: …`). Anything else is a bug
 * and keeps its stack trace.
 *
 * @example
 * ```ts
 * import { runCli } from "./run_cli.ts";
 * if (import.meta.main) await runCli(() => Promise.resolve(0));
 * ```
 * @module
 */
import { EmbedgeError } from "../src/errors.ts";

/** Runs `main` and exits. */
export async function runCli(main: () => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (e) {
    if (e instanceof EmbedgeError) {
      console.error(`error (${e.code}${e.param ? `, ${e.param}` : ""}): ${e.message}`);
      Deno.exit(2);
    }
    // node:util parseArgs errors carry codes such as ERR_PARSE_ARGS_UNKNOWN_OPTION
    const code = (e as { code?: unknown })?.code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      console.error(`error: ${(e as Error).message.split("\n")[0]}`);
      Deno.exit(2);
    }
    throw e;
  }
}
