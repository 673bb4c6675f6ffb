#include "generation.h"

#include "batch-decode.h"
#include "errors.h"

#include <chrono>
#include <memory>

namespace ps {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
struct SamplerDeleter {
    void operator()(llama_sampler * s) const { llama_sampler_free(s); }
};
}  // namespace

std::string token_piece(const llama_vocab * vocab, llama_token token, bool special) {
    char buf[128];
    int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, special);
    if (n >= 0) return std::string(buf, (size_t) n);
    std::string big((size_t) -n, '\0');
    n = llama_token_to_piece(vocab, token, big.data(), (int32_t) big.size(), 0, special);
    big.resize(n > 0 ? (size_t) n : 0);
    return big;
}

GenerateSummary run_generation(llama_context * ctx, const GenerateRequest & req, GenerationHooks & hooks) {
    GenerateSummary sum;
    const int32_t n_prompt = (int32_t) req.prompt.size();
    const int32_t n_ctx = (int32_t) llama_n_ctx(ctx);
    if (n_prompt == 0) throw CodedError("ERR_INVALID_ARG", "the prompt must contain at least one token");
    if (n_prompt > n_ctx) {
        throw CodedError("ERR_CONTEXT_OVERFLOW", "the prompt has " + std::to_string(n_prompt) +
                         " tokens but the context holds " + std::to_string(n_ctx));
    }
    const llama_vocab * vocab = llama_model_get_vocab(llama_get_model(ctx));
    llama_memory_seq_rm(llama_get_memory(ctx), req.seq, -1, -1);
    std::unique_ptr<llama_sampler, SamplerDeleter> sampler(make_sampler_chain(req.sampling, llama_vocab_n_tokens(vocab)));

    auto after = [&](const llama_batch & b) { hooks.after_decode(b); };
    auto t0 = Clock::now();
    sum.n_prompt = n_prompt;
    // An abort before or during the prompt is a normal end with nothing generated.
    if (hooks.stop_requested()) { sum.stop_reason = "abort"; return sum; }
    if (n_prompt > 1) {
        hooks.enter_phase(Phase::Prompt);
        SeqTokens head;
        head.seq = req.seq;
        head.tokens.assign(req.prompt.begin(), req.prompt.end() - 1);
        head.logits.assign(head.tokens.size(), req.prompt_outputs ? 1 : 0);
        try {
            decode_sequences(ctx, {head}, after, [&] { return hooks.stop_requested(); });
        } catch (const CodedError & e) {
            if (e.code != "ERR_ABORTED") throw;
            sum.stop_reason = "abort";
            sum.prompt_ms = ms_since(t0);
            return sum;
        }
    }
    hooks.enter_phase(Phase::LastPrompt);
    decode_one(ctx, req.prompt.back(), n_prompt - 1, req.seq, after);
    sum.prompt_ms = ms_since(t0);

    auto t1 = Clock::now();
    llama_pos pos = n_prompt;
    for (;;) {
        if (hooks.stop_requested()) { sum.stop_reason = "abort"; break; }
        if (sum.n_generated >= req.max_tokens) { sum.stop_reason = "max-tokens"; break; }
        const llama_token tok = llama_sampler_sample(sampler.get(), ctx, -1);
        if (req.stop_at_eog && llama_vocab_is_eog(vocab, tok)) { sum.stop_reason = "eog"; break; }
        sum.n_generated++;
        hooks.on_token(tok, token_piece(vocab, tok, false));
        if (sum.n_generated >= req.max_tokens) { sum.stop_reason = "max-tokens"; break; }
        if (pos >= n_ctx) { sum.stop_reason = "context-full"; break; }
        if (hooks.stop_requested()) { sum.stop_reason = "abort"; break; }
        hooks.enter_phase(Phase::Generated);
        decode_one(ctx, tok, pos++, req.seq, after);
    }
    sum.generate_ms = ms_since(t1);
    return sum;
}

}  // namespace ps
