#include "batch-decode.h"

#include "errors.h"

#include <string>

namespace ps {

namespace {
void check_decode(int32_t rc) {
    if (rc == 0) return;
    if (rc == 1) throw CodedError(codes::CONTEXT_OVERFLOW, "the context has no room for the batch (llama_decode returned 1); use a larger contextSize");
    if (rc == 2) throw CodedError(codes::ABORTED, "decoding was aborted");
    throw CodedError(codes::DECODE, "llama_decode failed with code " + std::to_string(rc));
}

struct BatchGuard {
    llama_batch b;
    explicit BatchGuard(int32_t n) : b(llama_batch_init(n, 0, 1)) {}
    ~BatchGuard() { llama_batch_free(b); }
};
}  // namespace

void decode_sequences(llama_context * ctx, const std::vector<SeqTokens> & seqs, const AfterDecode & after,
                      const std::function<bool()> & aborted) {
    const int32_t n_batch = (int32_t) llama_n_batch(ctx);
    BatchGuard guard(n_batch);
    llama_batch & batch = guard.b;
    batch.n_tokens = 0;

    auto flush = [&]() {
        if (batch.n_tokens == 0) return;
        if (aborted && aborted()) throw CodedError(codes::ABORTED, "the operation was aborted");
        check_decode(llama_decode(ctx, batch));
        if (after) after(batch);
        batch.n_tokens = 0;
    };

    for (const SeqTokens & s : seqs) {
        const int32_t n = (int32_t) s.tokens.size();
        for (int32_t i = 0; i < n; i++) {
            if (batch.n_tokens == n_batch) flush();
            const int32_t k = batch.n_tokens++;
            batch.token[k] = s.tokens[i];
            batch.pos[k] = s.pos0 + i;
            batch.n_seq_id[k] = 1;
            batch.seq_id[k][0] = s.seq;
            batch.logits[k] = s.logits.empty() ? (i == n - 1) : s.logits[i];
        }
    }
    flush();
}

void decode_one(llama_context * ctx, llama_token token, llama_pos pos, llama_seq_id seq, const AfterDecode & after) {
    // Reused per thread: generation decodes one token at a time and should not allocate each time.
    static thread_local BatchGuard guard(1);
    llama_batch & batch = guard.b;
    batch.n_tokens = 1;
    batch.token[0] = token;
    batch.pos[0] = pos;
    batch.n_seq_id[0] = 1;
    batch.seq_id[0][0] = seq;
    batch.logits[0] = 1;
    check_decode(llama_decode(ctx, batch));
    if (after) after(batch);
}

}  // namespace ps
