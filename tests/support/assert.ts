/**
 * Minimal assertions (Deno's `@std/assert` lives on JSR, which this network cannot
 * reach): `assert`, `assertEquals` (deep, via `node:util`), `assertThrows`,
 * `assertRejects`, `assertAlmostEquals`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "./assert.ts";
 * assertEquals([1, { a: 2 }], [1, { a: 2 }]);
 * ```
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** Fails unless `cond` is truthy. */
export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new Error(message);
}

/** Fails unless `actual` and `expected` are deeply equal. */
export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(
      `${message ? message + ": " : ""}values differ\n  actual:   ${
        inspect(actual, { depth: 4, maxArrayLength: 40 })
      }\n  expected: ${inspect(expected, { depth: 4, maxArrayLength: 40 })}`,
    );
  }
}

/** Fails unless |actual - expected| ≤ tolerance. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message = "",
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(
      `${message ? message + ": " : ""}${actual} is not within ${tolerance} of ${expected}`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E> = new (...args: any[]) => E;

/** Fails unless `fn` throws an instance of `cls` (and the message includes `includes`). */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls: ErrorClass<E>,
  includes = "",
): E {
  try {
    fn();
  } catch (e) {
    check(e, cls, includes);
    return e as E;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

/** Async `assertThrows`. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls: ErrorClass<E>,
  includes = "",
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    check(e, cls, includes);
    return e as E;
  }
  throw new Error(`expected ${cls.name} to be rejected`);
}

function check(e: unknown, cls: ErrorClass<Error>, includes: string): void {
  if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${inspect(e)}`);
  if (includes && !e.message.includes(includes)) {
    throw new Error(`expected message to include ${JSON.stringify(includes)}: ${e.message}`);
  }
}
