// Which tokens of a decode produce outputs when block outputs are read. In its last block,
// llama.cpp keeps only the rows of tokens that produce logits (ggml_get_rows on inp_out_ids), so
// that block's output has no row for the others; every other block has a row for every token.

/**
 * Output flags (1: the token produces logits) for a decode of `n` tokens that reads `blocks` at
 * the positions where `read(i)` holds: those positions when the last block (blockCount - 1) is
 * read, else only the last token (the one output llama.cpp needs).
 */
export function outputFlags(n: number, read: (i: number) => boolean, blocks: readonly number[], blockCount: number): Uint8Array {
  const lastBlock = blocks.includes(blockCount - 1);
  return Uint8Array.from({ length: n }, (_, i) => (lastBlock ? (read(i) ? 1 : 0) : (i === n - 1 ? 1 : 0)));
}
