#include "model-trial.h"

#include "abort-guard.h"

#include <memory>
#include <string>
#include <stdexcept>

namespace ps {

std::string trial_decode(llama_model * model) {
    // An encoder (BERT, T5's first half) is not decoded token by token; nothing to try.
    if (!llama_model_has_decoder(model) || llama_model_has_encoder(model)) return "";
    llama_context_params p = llama_context_default_params();
    p.n_ctx = 16;
    p.n_batch = 2;
    p.n_ubatch = 2;
    p.n_seq_max = 1;
    // One thread: ggml then computes on this thread, where the AbortGuard turns an assertion into
    // an exception (with OpenMP, more threads would run the kernels in a parallel region).
    p.n_threads = 1;
    p.n_threads_batch = 1;
    p.no_perf = true;
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    std::unique_ptr<llama_context, void (*)(llama_context *)> ctx(nullptr, llama_free);
    try {
        AbortGuard::take_last_abort();
        ctx.reset(llama_init_from_model(model, p));
        if (!ctx) {
            // llama.cpp catches what context creation throws, an assertion made an exception included.
            const std::string why = AbortGuard::take_last_abort();
            if (!why.empty()) return "creating a context fails: " + why;
            // No context for another reason (memory, a setting): createContext will say so as a typed error.
            return "";
        }
        const llama_vocab * vocab = llama_model_get_vocab(model);
        const int32_t n_vocab = llama_vocab_n_tokens(vocab);
        llama_token tok = llama_vocab_bos(vocab);
        if (tok < 0 || tok >= n_vocab) tok = 0;
        llama_token toks[2] = {tok, tok};
        llama_batch batch = llama_batch_get_one(toks, n_vocab > 0 ? 2 : 0);
        if (batch.n_tokens > 0) llama_decode(ctx.get(), batch);
    } catch (const std::exception & e) {
        return std::string("the first decode fails: ") + e.what();
    }
    return "";
}

}  // namespace ps
