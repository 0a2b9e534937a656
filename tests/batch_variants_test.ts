/**
 * One forward pass for every pooling, normalization and choice of layers waiting in the
 * batcher's queue (edge/batching/keys.ts, parts.ts): requests that differ only in how they
 * read the model's output share its run, and each still gets what it gets alone; a bad
 * option of one of them fails that request only. Runs on the trained embedge-mini-mlm;
 * counts `session.run` calls and compares vectors, not timings.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Embedder, type Embeddings, type EmbedOptions } from "../src/model/embedder.ts";
import { Batcher } from "../edge/batching/batcher.ts";

const ignore = !hasShared("models/embedge-mini-mlm/onnx/model.onnx");
const dir = shared("models/embedge-mini-mlm");

/** Loads the model and counts its runs, and the option sets of each `embedMany` call. */
async function counted() {
  const embedder = await Embedder.load(dir);
  const seen = { runs: 0, variants: [] as number[] };
  const run = embedder.session.run.bind(embedder.session);
  embedder.session.run = (...args) => (seen.runs++, run(...args));
  const embedMany = embedder.embedMany.bind(embedder);
  embedder.embedMany = (
    texts,
    variants,
  ) => (seen.variants.push(variants.length), embedMany(texts, variants));
  return { embedder, seen };
}

/** Asserts `got` is what `alone` is, vectors within 1e-6. */
function assertSame(got: Embeddings, alone: Embeddings, what: string): void {
  assertEquals(
    [got.dims, got.pooling, got.normalized, Array.from(got.tokenCounts)],
    [alone.dims, alone.pooling, alone.normalized, Array.from(alone.tokenCounts)],
    what,
  );
  const worst = got.data.reduce((m, v, i) => Math.max(m, Math.abs(v - alone.data[i])), 0);
  assert(worst <= 1e-6, `${what}: vectors differ by ${worst} from the request run alone`);
}

Deno.test({
  name:
    "requests that differ in pooling, normalize and layers share one model run; each answer is its own request's alone",
  ignore,
  async fn() {
    const { embedder, seen } = await counted();
    const batcher = new Batcher(embedder, { maxWaitMs: 50 });
    const paris = embedder.encode("I love Paris."), traffic = embedder.encode("I hate traffic.");
    // inputs of one length: alone, all of them fit one run, so one run is the batch's due
    assertEquals([paris.encoding.ids.length, traffic.encoding.ids.length], [6, 6]);
    const requests: [EmbedOptions, typeof paris[]][] = [
      // first: embedMany fills a variant's missing options from its first variant, and the
      // others asked for the last layer
      [{ pooling: "mean", layers: [-2] }, [paris]],
      [{ pooling: "cls", normalize: true }, [paris, traffic]],
      [{ pooling: "mean", normalize: false }, [traffic]],
      // asked alike as the second: the run's answer for that option set serves both
      [{ pooling: "cls", normalize: true }, [traffic]],
    ];
    const answers = await Promise.all(
      requests.map(([options, inputs]) => batcher.embed(inputs, options)),
    );
    assertEquals(seen.runs, 1, "model runs for the four requests");
    assertEquals(seen.variants, [3], "option sets of the one embedMany call");
    for (const [i, [options, inputs]] of requests.entries()) {
      assertSame(answers[i], await embedder.embed(inputs, options), JSON.stringify(options));
    }
    assertEquals(batcher.depth, 0);
    await embedder.close();
  },
});

Deno.test({
  name:
    "a bad option of one request in a shared run fails that request naming the option; the others are answered",
  ignore,
  async fn() {
    const { embedder } = await counted();
    const batcher = new Batcher(embedder, { maxWaitMs: 50 });
    const inputs = [embedder.encode("I love Paris.")];
    const [good, bad, other] = await Promise.allSettled([
      batcher.embed(inputs, { pooling: "mean" }),
      batcher.embed(inputs, { pooling: "mean", layers: [99] }),
      batcher.embed(inputs, { pooling: "cls", normalize: true }),
    ]);
    assertEquals(bad.status, "rejected");
    // the error the request gets alone, not another request's nor the part's
    const e = (bad as PromiseRejectedResult).reason;
    const alone = await embedder.embed(inputs, { pooling: "mean", layers: [99] }).catch((x) => x);
    assertEquals([e.name, e.param, e.message], [alone.name, alone.param, alone.message]);
    assertEquals(e.param, "layers[0]");
    for (
      const [answer, options] of [[good, { pooling: "mean" }], [other, {
        pooling: "cls",
        normalize: true,
      }]] as const
    ) {
      assertEquals(answer.status, "fulfilled", JSON.stringify(options));
      const got = (answer as PromiseFulfilledResult<Embeddings>).value;
      assertSame(got, await embedder.embed(inputs, options), JSON.stringify(options));
    }
    assertEquals(batcher.depth, 0);
    await embedder.close();
  },
});
