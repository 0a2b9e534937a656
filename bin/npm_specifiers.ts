/**
 * The npm build's last step (`npm run build:npm`): the library names its npm dependencies
 * with versioned `npm:` specifiers (src/deps/), which Deno resolves without the importer's
 * package.json; Node and bundlers do not know the `npm:` scheme and resolve bare names
 * through package.json instead. So every `npm:name@version/sub` string in dist/'s
 * JavaScript and declarations becomes `name/sub`, and the build fails if one is left.
 *
 * ```sh
 * deno run --allow-read --allow-write bin/npm_specifiers.ts dist
 * ```
 * @module
 */
import { runCli, UsageError } from "./run_cli.ts";

// "npm:hono@4.13.19/cors" → "hono/cors"; "npm:@scope/name@1.2.3" → "@scope/name"
const VERSIONED = /(["'])npm:((?:@[\w.-]+\/)?[\w.-]+)@[^/"']+((?:\/[^"']*)?)\1/g;

/** The text with every quoted versioned `npm:` specifier made bare. */
export function bareSpecifiers(text: string): string {
  return text.replace(VERSIONED, (_, quote, name, sub) => `${quote}${name}${sub}${quote}`);
}

/** Rewrites the .js and .d.ts files under `dir`; the files it changed. */
export async function rewriteTree(dir: string): Promise<string[]> {
  const changed: string[] = [];
  const left: string[] = [];
  for await (const path of walk(dir)) {
    if (!path.endsWith(".js") && !path.endsWith(".d.ts")) continue;
    const text = await Deno.readTextFile(path);
    const bare = bareSpecifiers(text);
    if (bare !== text) {
      await Deno.writeTextFile(path, bare);
      changed.push(path);
    }
    if (/["']npm:/.test(bare)) left.push(path);
  }
  if (left.length) {
    throw new Error(`npm: specifiers without a version left in ${left.join(", ")}`);
  }
  return changed;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

if (import.meta.main) {
  await runCli(async () => {
    const [dir] = Deno.args;
    if (!dir) throw new UsageError("usage: npm_specifiers.ts DIR");
    const changed = await rewriteTree(dir);
    console.log(`npm: specifiers made bare in ${changed.length} file(s)`);
    return 0;
  });
}
