// Status codes the exported functions return (keep in sync with src/tokenizer/load.ts,
// precompiled.ts and wasm_io.ts).

export const E_OK: i32 = 0;
export const E_BAD_MODEL: i32 = -1;
export const E_NO_MODEL: i32 = -2;
// a vocabulary past the model's field widths: 16M trie nodes or pool entries, a node with
// more than 65535 failure pops, a token longer than 65535 characters
export const E_TOO_LARGE: i32 = -3;
// the vocabulary scanner gave up: the caller parses the JSON instead
export const E_SCAN: i32 = -4;
