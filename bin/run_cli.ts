/**
 * Runs a command-line `main`: exits with its code, and turns embedge's typed errors into
 * one line `error (code, field): message` and exit code 2, and so are the argument
 * parser's complaints (unknown or ambiguous options), every file-system refusal (missing,
 * unreadable, a name too long, a kernel file that cannot be written), files that are not
 * JSON, and `UsageError`s (`error: …`). A closed stdout (`| head`) ends quietly with exit
 * 141, as a process killed by SIGPIPE does. Anything else is a bug and keeps its stack
 * trace.
 *
 * @example
 * ```ts
 * import { runCli } from "./run_cli.ts";
 * if (import.meta.main) await runCli(() => Promise.resolve(0));
 * ```
 * @module
 */
import { EmbedgeError } from "../src/errors.ts";

/** A mistake in how a command was called (prints as one line, exit 2). */
export class UsageError extends Error {}

/** Runs `main` and exits. */
export async function runCli(main: () => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (e) {
    if (e instanceof EmbedgeError) {
      console.error(`error (${e.code}${e.param ? `, ${e.param}` : ""}): ${e.message}`);
      Deno.exit(2);
    }
    // the reader went away (`embed --file big.txt | head`): stop quietly, as `cat` does
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(141);
    if (isUsersToFix(e)) {
      console.error(`error: ${(e as Error).message.split("\n")[0].slice(0, 500)}`);
      Deno.exit(2);
    }
    throw e;
  }
}

/**
 * Whether an error is the caller's to fix: node:util parseArgs errors (codes such as
 * ERR_PARSE_ARGS_UNKNOWN_OPTION), a `UsageError`, a file that is not JSON, and every file
 * system refusal (missing, unreadable, a directory, a name too long, a path under /proc
 * that cannot be written …): Deno's file errors are `Deno.errors.*` or carry an errno code.
 */
function isUsersToFix(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && (code.startsWith("ERR_PARSE_ARGS") || /^E[A-Z]+$/.test(code))) {
    return true;
  }
  const fileErrors = [
    Deno.errors.NotFound,
    Deno.errors.PermissionDenied,
    Deno.errors.IsADirectory,
    Deno.errors.NotADirectory,
    Deno.errors.AlreadyExists,
    Deno.errors.InvalidData,
    Deno.errors.FilesystemLoop,
    Deno.errors.NotSupported,
  ];
  return e instanceof UsageError || e instanceof SyntaxError ||
    fileErrors.some((kind) => e instanceof kind);
}

/**
 * Refuses an output path on the kernel's file systems (/proc, /sys, /dev, after links are
 * resolved): there a "file" can be a setting (a head written to /proc/sys/kernel/hostname
 * renames the machine) or a device, so no CLI writes its results there.
 */
export async function refuseKernelPath(flag: string, path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const parent = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  // the nearest folder that exists decides (new folders would be made under it)
  let dir = parent, real = "";
  for (;;) {
    real = await Deno.realPath(dir).catch(() => "");
    if (real || dir === "/" || dir === ".") break;
    const up = dir.lastIndexOf("/");
    dir = up > 0 ? dir.slice(0, up) : up === 0 ? "/" : ".";
  }
  const where = real || (parent.startsWith("/") ? parent : Deno.cwd());
  if (/^\/(proc|sys|dev)(\/|$)/.test(`${where}/`)) {
    throw new UsageError(
      `${flag} ${path}: not a place for a file (${where} is a kernel file system)`,
    );
  }
}

/**
 * Writes text to stdout in full; a closed pipe surfaces as `Deno.errors.BrokenPipe`,
 * which `runCli` turns into a quiet exit.
 */
export async function writeOut(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) at += await Deno.stdout.write(bytes.subarray(at));
}

/** `--layers -2` as `--layers=-2`: node's parseArgs would take `-2` for an option. */
export function joinLayerValues(args: string[]): string[] {
  return args.flatMap((arg, i) =>
    arg === "--layers" && /^-\d/.test(args[i + 1] ?? "")
      ? []
      : i > 0 && args[i - 1] === "--layers" && /^-\d/.test(arg)
      ? [`--layers=${arg}`]
      : [arg]
  );
}

/** A `--layers` value as numbers ("-4,-3" → [-4, -3]; a bad item becomes NaN, which the
 * embedder refuses naming `layers[i]`). */
export function parseLayers(value: string | undefined): number[] | undefined {
  return value === undefined
    ? undefined
    : value.split(",").map((k) => (k.trim() === "" ? NaN : Number(k)));
}

/**
 * A progress bar on stderr with rate and time left, only on a terminal (never into a log
 * file) and only once a job has run for a second.
 */
export function progressBar(
  label = "",
): ((done: number, total: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const t0 = performance.now(), encoder = new TextEncoder();
  let shown = false;
  return (done, total) => {
    const s = (performance.now() - t0) / 1000;
    if (s < 1 && !shown) return;
    shown = true;
    const w = 30, f = Math.round((done / total) * w), rate = done / s;
    const eta = rate > 0 ? (total - done) / rate : 0;
    Deno.stderr.writeSync(
      encoder.encode(
        `\r${label ? `${label} ` : ""}[${"#".repeat(f)}${".".repeat(w - f)}] ${done}/${total} ${
          rate.toFixed(1)
        }/s, ${eta.toFixed(0)} s left `,
      ),
    );
    if (done === total) Deno.stderr.writeSync(encoder.encode("\n"));
  };
}

/**
 * A progress bar per downloading file (for `LoadOptions.onDownload`), on a terminal only.
 *
 * @example
 * ```ts
 * import { downloadBars } from "./run_cli.ts";
 * const onDownload = downloadBars();
 * onDownload("onnx/model.onnx", 1024, 4096); // draws nothing off a terminal
 * ```
 */
export function downloadBars(): (file: string, received: number, total?: number) => void {
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  return (file, received, total) => {
    if (!bars.has(file)) bars.set(file, progressBar(`download ${file}`));
    bars.get(file)?.(received, total ?? received);
  };
}
