#include "sampling.h"

#include "backend.h"

#include <algorithm>
#include <cmath>

namespace ps {

std::string check_grammar(const llama_vocab * vocab, const std::string & grammar) {
    if (grammar.empty()) return "";
    take_last_llama_error();
    llama_sampler * s = llama_sampler_init_grammar(vocab, grammar.c_str(), "root");
    if (s != nullptr) {
        llama_sampler_free(s);
        return "";
    }
    std::string why = take_last_llama_error();
    return why.empty() ? "llama.cpp could not parse the grammar" : why;
}

llama_sampler * make_sampler_chain(const SamplingOptions & o, const llama_vocab * vocab) {
    llama_sampler_chain_params params = llama_sampler_chain_default_params();
    params.no_perf = true;
    llama_sampler * chain = llama_sampler_chain_init(params);
    // The grammar goes first: every later sampler only sees tokens the grammar allows, and the
    // chain's accept() advances the grammar with the token drawn.
    if (!o.grammar.empty()) {
        llama_sampler * g = llama_sampler_init_grammar(vocab, o.grammar.c_str(), "root");
        if (g == nullptr) {
            llama_sampler_free(chain);
            return nullptr;
        }
        llama_sampler_chain_add(chain, g);
    }
    if (o.repeat_penalty != 1.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_penalties(llama_vocab_n_tokens(vocab), o.repeat_last_n, o.repeat_penalty, 0.0f, 0.0f));
    }
    if (o.greedy || o.temperature <= 0.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        return chain;
    }
    // The order llama.cpp's own tools use: truncate the distribution, then temperature, then draw.
    if (o.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(o.top_k));
    if (o.top_p < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(o.top_p, 1));
    if (o.min_p > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(o.min_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(o.temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(o.seed));
    return chain;
}

TokenLogprobs token_logprobs(const float * logits, int32_t n_vocab, llama_token chosen, int32_t k) {
    TokenLogprobs out;
    double max = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) max = std::max(max, (double) logits[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) sum += std::exp((double) logits[i] - max);
    const double log_z = max + std::log(sum);
    if (chosen >= 0 && chosen < n_vocab) out.logprob = (float) ((double) logits[chosen] - log_z);
    k = std::min(k, n_vocab);
    if (k <= 0) return out;
    std::vector<llama_token> ids(n_vocab);
    for (int32_t i = 0; i < n_vocab; i++) ids[i] = i;
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [logits](llama_token a, llama_token b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    out.top.reserve(k);
    for (int32_t i = 0; i < k; i++) out.top.push_back({ids[i], (float) ((double) logits[ids[i]] - log_z)});
    return out;
}

}  // namespace ps
