/**
 * Sizes the house rules limit (tests/size_test.ts): a file's length in lines and each
 * function's length, measured on the syntax tree the TypeScript compiler parses (a dev
 * dependency), so braces inside strings, template literals, regular expressions and
 * comments count for nothing. A function is a declaration, method, constructor, accessor,
 * function expression or arrow function with a block body; its length runs from the line of
 * the body's `{` to the line of its `}`, both counted. A function inside another counts in
 * both. AssemblyScript (wasm/) parses as TypeScript too: its types are only names.
 *
 * @example
 * ```ts
 * import { fileLines, functionSizes } from "./sizes.ts";
 * const text = "function f() {\n  return '}';\n}\nconst g = () => {\n};\n";
 * console.log(fileLines(text)); // 5
 * console.log(functionSizes(text)); // [ { name: "f", line: 1, lines: 3 }, { name: "g", line: 4, lines: 2 } ]
 * ```
 * @module
 */
import ts from "typescript";

/** One function's size: its name (or where it is), its first line (1-based), its lines. */
export interface FunctionSize {
  name: string;
  line: number;
  lines: number;
}

/** Lines of a file as `wc -l` counts them, plus a last line without a newline. */
export function fileLines(text: string): number {
  const newlines = text.split("\n").length - 1;
  return text.length > 0 && !text.endsWith("\n") ? newlines + 1 : newlines;
}

/** The name a function goes by: its own, its variable's or property's, else "(anonymous)". */
function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  let name = named.name ? named.name.getText(source) : undefined;
  if (!name && ts.isConstructorDeclaration(node)) name = "constructor";
  if (!name) {
    const parent = node.parent;
    if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
      name = parent.name.getText(source);
    } else if (ts.isPropertyDeclaration(parent)) {
      name = parent.name.getText(source);
    }
  }
  const owner = node.parent && ts.isClassLike(node.parent) ? node.parent.name?.getText(source) : "";
  return owner ? `${owner}.${name ?? "(anonymous)"}` : name ?? "(anonymous)";
}

/** Every function with a block body in `text`, in source order. */
export function functionSizes(text: string, fileName = "file.ts"): FunctionSize[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: FunctionSize[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node)) {
      const body = (node as ts.Node & { body?: ts.Node }).body;
      if (body && ts.isBlock(body)) {
        const open = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
        const close = source.getLineAndCharacterOfPosition(body.getEnd()).line;
        found.push({ name: nameOf(node, source), line: open + 1, lines: close - open + 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
