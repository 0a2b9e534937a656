/**
 * Describes the machine and runtime a benchmark ran on, for every results file.
 *
 * @example
 * ```ts
 * import { machine } from "./machine.ts";
 * console.log(machine().cpu);
 * ```
 * @module
 */
import os from "node:os";

/** Machine facts recorded with each result. */
export interface Machine {
  date: string;
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  deno: string;
  v8: string;
}

/** The current machine. */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** q-quantile (0..1) of a list of numbers, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
