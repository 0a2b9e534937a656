/**
 * Every WebAssembly memory the process makes, for the memory benchmarks' children
 * (wasm_memory_child.ts, load_memory_child.ts): importing this module wraps
 * `WebAssembly.Memory`, `Instance` and `instantiate` so that each memory created or
 * exported is recorded in `memories`. Import it before anything that compiles wasm (a
 * benchmark may patch globals; the library never does).
 *
 * @example
 * ```ts
 * import { memories } from "./wasm_memories.ts";
 * new WebAssembly.Memory({ initial: 2 });
 * console.log(memories.at(-1)!.buffer.byteLength); // 131072
 * ```
 * @module
 */

/** The memories seen so far, in the order they were made or exported. */
export const memories: WebAssembly.Memory[] = [];

const NativeMemory = WebAssembly.Memory;
const patched = function (descriptor: WebAssembly.MemoryDescriptor) {
  const m = new NativeMemory(descriptor);
  memories.push(m);
  return m;
};
patched.prototype = NativeMemory.prototype;
const exported = (instance: WebAssembly.Instance) => {
  for (const v of Object.values(instance.exports)) {
    if (v instanceof NativeMemory && !memories.includes(v)) memories.push(v);
  }
};
const NativeInstance = WebAssembly.Instance;
const instanceOf = function (module: WebAssembly.Module, imports?: WebAssembly.Imports) {
  const instance = new NativeInstance(module, imports);
  exported(instance);
  return instance;
};
instanceOf.prototype = NativeInstance.prototype;
const nativeInstantiate = WebAssembly.instantiate;
Object.assign(WebAssembly, {
  Memory: patched,
  Instance: instanceOf,
  instantiate: async (...a: Parameters<typeof WebAssembly.instantiate>) => {
    const result = (await nativeInstantiate(...a)) as unknown;
    exported(
      result instanceof NativeInstance
        ? result
        : (result as WebAssembly.WebAssemblyInstantiatedSource).instance,
    );
    return result;
  },
});

/** The memories' sizes in MiB. */
export function memoriesMiB(): number[] {
  return memories.map((m) => m.buffer.byteLength / 2 ** 20);
}
