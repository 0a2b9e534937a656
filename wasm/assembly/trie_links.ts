// The trie's order and failure links (builder.ts builds the trie, then these): each
// node's children sorted by code point, the nodes numbered breadth-first from both roots,
// then every node's failure link and failure pops in that order (Song et al., "Fast
// WordPiece Tokenization", EMNLP 2021, section 4). Their arrays stay in module globals
// for builder.ts to write into the model and free.

import { ROOT, SROOT } from "./format";
import { findChild } from "./edge_table";

/**
 * Copies `n` i32 words. The copies here are short (most nodes have one child and one
 * pop), where a loop beats wasm's memory.copy, which V8 runs as a call into C.
 */
// @ts-ignore: decorator
@inline export function copyWords(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(dst + (<usize>i) * 4, load<i32>(src + (<usize>i) * 4));
}

/** Sorts `n` node ids at `ids` by the code point of their incoming edge (shellsort). */
function sortByChar(ids: usize, n: i32, chars: usize): void {
  let gap = 1;
  while (gap < n / 3) gap = gap * 3 + 1;
  while (gap >= 1) {
    for (let i = gap; i < n; i++) {
      const x = load<i32>(ids + (<usize>i) * 4);
      const cx = load<u32>(chars + (<usize>x) * 4);
      let j = i;
      while (j >= gap) {
        const y = load<i32>(ids + (<usize>(j - gap)) * 4);
        if (load<u32>(chars + (<usize>y) * 4) <= cx) break;
        store<i32>(ids + (<usize>j) * 4, y);
        j -= gap;
      }
      store<i32>(ids + (<usize>j) * 4, x);
    }
    gap = (gap - 1) / 3;
  }
}

// What orderNodes gives the later phases: each node's child count, its BFS position
// (rank) and the nodes in BFS order, arrays of nn i32
export let childCounts: usize = 0;
export let ranks: usize = 0;
export let bfsOrder: usize = 0;

/** Sorts each node's children by code point and numbers the nodes breadth-first. */
export function orderNodes(nn: i32, eParent: usize, eChar: usize): void {
  // Children lists (CSR), each sorted by code point, then BFS order from both roots.
  const cnt = heap.alloc((<usize>nn + 1) * 4);
  memory.fill(cnt, 0, (<usize>nn + 1) * 4);
  for (let v = 2; v < nn; v++) {
    const c = cnt + (<usize>load<i32>(eParent + (<usize>v) * 4)) * 4;
    store<i32>(c, load<i32>(c) + 1);
  }
  const csr = heap.alloc((<usize>nn + 1) * 4); // start of each node's group
  let acc: i32 = 0;
  for (let v = 0; v < nn; v++) {
    store<i32>(csr + (<usize>v) * 4, acc);
    acc += load<i32>(cnt + (<usize>v) * 4);
  }
  store<i32>(csr + (<usize>nn) * 4, acc);
  // rank (old id → BFS position) is written by the BFS below; until then it serves as
  // each group's fill cursor (one array fewer to touch: fresh pages are most of a build)
  const rank = heap.alloc((<usize>nn) * 4);
  memory.copy(rank, csr, (<usize>nn) * 4);
  const grouped = heap.alloc((<usize>nn) * 4);
  for (let v = 2; v < nn; v++) {
    const f = rank + (<usize>load<i32>(eParent + (<usize>v) * 4)) * 4;
    const at = load<i32>(f);
    store<i32>(f, at + 1);
    store<i32>(grouped + (<usize>at) * 4, v);
  }
  for (let v = 0; v < nn; v++) {
    const a = load<i32>(csr + (<usize>v) * 4);
    sortByChar(grouped + (<usize>a) * 4, load<i32>(cnt + (<usize>v) * 4), eChar);
  }
  const order = heap.alloc((<usize>nn) * 4); // position → old id
  store<i32>(order, ROOT);
  store<i32>(order, SROOT, 4);
  let tail: i32 = 2;
  for (let head = 0; head < tail; head++) {
    const u = load<i32>(order + (<usize>head) * 4);
    store<i32>(rank + (<usize>u) * 4, head);
    const a = load<i32>(csr + (<usize>u) * 4);
    const n = load<i32>(cnt + (<usize>u) * 4);
    copyWords(order + (<usize>tail) * 4, grouped + (<usize>a) * 4, n);
    tail += n;
  }
  // done with the groups: the next arrays can take their (already touched) memory
  heap.free(grouped);
  heap.free(csr);
  childCounts = cnt;
  ranks = rank;
  bfsOrder = order;
}

// What failureLinks gives: per node (old ids) its failure link, the start and length of
// its pops in the pool, and the pool (i32 each)
export let failLinks: usize = 0;
export let popStarts: usize = 0;
export let popLengths: usize = 0;
export let popPool: usize = 0;

/** Failure links and failure pops of every node, in BFS order (Song et al., section 4). */
export function failureLinks(
  nn: i32,
  order: usize,
  tTok: usize,
  eParent: usize,
  eChar: usize,
): void {
  // Failure links and pops, in BFS order (old ids; pops into a growing pool).
  const tFail = heap.alloc((<usize>nn) * 4);
  const tPs = heap.alloc((<usize>nn) * 4);
  const tPl = heap.alloc((<usize>nn) * 4);
  let pCap: i32 = nn + 16;
  let tPool = heap.alloc((<usize>pCap) * 4);
  let pN: i32 = 0;
  store<i32>(tFail, -1);
  store<i32>(tFail, -1, 4);
  store<u32>(tPs, 0);
  store<u32>(tPs, 0, 4);
  store<u32>(tPl, 0);
  store<u32>(tPl, 0, 4);
  for (let i = 2; i < nn; i++) {
    const v = load<i32>(order + (<usize>i) * 4);
    const vp = (<usize>v) * 4;
    const t = load<i32>(tTok + vp);
    if (t >= 0) {
      if (pN + 1 > pCap) {
        pCap *= 2;
        tPool = heap.realloc(tPool, (<usize>pCap) * 4);
      }
      store<i32>(tPool + (<usize>pN) * 4, t);
      store<u32>(tPs + vp, pN);
      store<u32>(tPl + vp, 1);
      store<i32>(tFail + vp, SROOT);
      pN++;
      continue;
    }
    const u = load<i32>(eParent + vp);
    const c = load<u32>(eChar + vp);
    const start = pN;
    let z = load<i32>(tFail + (<usize>u) * 4);
    let from = u;
    let target = -1;
    while (true) {
      // F(v) += F(from)
      const fs = load<u32>(tPs + (<usize>from) * 4);
      const fl = <i32>load<u32>(tPl + (<usize>from) * 4);
      if (pN + fl > pCap) {
        while (pN + fl > pCap) pCap *= 2;
        tPool = heap.realloc(tPool, (<usize>pCap) * 4);
      }
      copyWords(tPool + (<usize>pN) * 4, tPool + (<usize>fs) * 4, fl);
      pN += fl;
      if (z < 0) break;
      target = findChild(z, c);
      if (target >= 0) break;
      from = z;
      z = load<i32>(tFail + (<usize>z) * 4);
    }
    if (target < 0) pN = start; // dead end: no pops needed
    store<i32>(tFail + vp, target);
    store<u32>(tPs + vp, start);
    store<u32>(tPl + vp, pN - start);
  }
  failLinks = tFail;
  popStarts = tPs;
  popLengths = tPl;
  popPool = tPool;
}
