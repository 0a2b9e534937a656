/**
 * Prometheus metrics: request counts by route and status, latency and batch-size
 * histograms, tokens, queue depth; rendered in the text exposition format.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const m = new Metrics();
 * m.request("/embed", 200, 0.012);
 * console.log(m.render().includes("embedge_requests_total")); // true
 * ```
 * @module
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

class Histogram {
  counts: number[];
  sum = 0;
  n = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.n++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]++;
    });
  }
  render(name: string, labels = ""): string[] {
    const l = labels ? `${labels},` : "";
    return [
      ...this.buckets.map((b, i) => `${name}_bucket{${l}le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${l}le="+Inf"} ${this.n}`,
      `${name}_sum${labels ? `{${labels}}` : ""} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ""} ${this.n}`,
    ];
  }
}

/** The server's metrics. */
export class Metrics {
  #requests = new Map<string, number>();
  #latency = new Map<string, Histogram>();
  #batch = new Histogram(BATCH_BUCKETS);
  #tokens = 0;
  #queueDepth = () => 0;

  /** Reports the queue depth on render. */
  set queueDepth(f: () => number) {
    this.#queueDepth = f;
  }

  /** Counts a finished request. */
  request(route: string, status: number, seconds: number): void {
    const key = `route="${route}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (!h) this.#latency.set(route, h = new Histogram(LATENCY_BUCKETS));
    h.observe(seconds);
  }

  /** Counts one model batch. */
  batch(inputs: number, tokens: number): void {
    this.#batch.observe(inputs);
    this.#tokens += tokens;
  }

  /** Prometheus text format. */
  render(): string {
    const lines = [
      "# HELP embedge_requests_total HTTP requests by route and status.",
      "# TYPE embedge_requests_total counter",
      ...[...this.#requests].map(([k, v]) => `embedge_requests_total{${k}} ${v}`),
      "# HELP embedge_request_duration_seconds Request latency.",
      "# TYPE embedge_request_duration_seconds histogram",
      ...[...this.#latency].flatMap(([r, h]) =>
        h.render("embedge_request_duration_seconds", `route="${r}"`)
      ),
      "# HELP embedge_batch_inputs Inputs per dynamic batch.",
      "# TYPE embedge_batch_inputs histogram",
      ...this.#batch.render("embedge_batch_inputs"),
      "# HELP embedge_tokens_total Tokens embedded.",
      "# TYPE embedge_tokens_total counter",
      `embedge_tokens_total ${this.#tokens}`,
      "# HELP embedge_queue_depth Inputs waiting for a batch.",
      "# TYPE embedge_queue_depth gauge",
      `embedge_queue_depth ${this.#queueDepth()}`,
    ];
    return lines.join("\n") + "\n";
  }
}
