import { Miniflare } from "miniflare";
const t0 = performance.now();
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response('x') } }",
  r2Buckets: { B: "models" },
  defaultPersistRoot: "/tmp/r2t/state/v3",
});
const b = await mf.getR2Bucket("B");
await b.put("a/g.txt", new TextEncoder().encode("world"));
await b.put("a/big.bin", new Uint8Array(30 * 1024 * 1024));
console.log("put ms", performance.now() - t0);
await mf.dispose();
