#pragma once
// Feeds tokens to llama_decode in chunks of n_batch (no N-API). Every chunk is one
// llama_decode call, so per-decode results (captures, monitor rows) are read between chunks.
#include "llama.h"

#include <functional>
#include <vector>

namespace ps {

struct SeqTokens {
    llama_seq_id seq = 0;
    llama_pos pos0 = 0;                  // position of tokens[0]
    std::vector<llama_token> tokens;
    std::vector<uint8_t> logits;         // per token: 1 = produce an output row; empty = last token only
};

// Called after each successful llama_decode, with the batch that was decoded.
using AfterDecode = std::function<void(const llama_batch & batch)>;

// Decodes the sequences, interleaving nothing: chunks never mix more tokens than n_batch.
// Throws CodedError (ERR_DECODE, ERR_CONTEXT_OVERFLOW, ERR_ABORTED).
void decode_sequences(llama_context * ctx, const std::vector<SeqTokens> & seqs, const AfterDecode & after,
                      const std::function<bool()> & aborted);

// One token at `pos` in `seq`, with its output row.
void decode_one(llama_context * ctx, llama_token token, llama_pos pos, llama_seq_id seq, const AfterDecode & after);

}  // namespace ps
