#pragma once
// Builds llama.cpp's sampler chain from plain options, and reads token probabilities from logits
// (no N-API: testable on its own).
#include "llama.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ps {

struct SamplingOptions {
    bool     greedy         = false;
    float    temperature    = 0.8f;
    int32_t  top_k          = 40;
    float    top_p          = 0.95f;
    float    min_p          = 0.05f;
    float    repeat_penalty = 1.0f;  // 1 disables the penalty sampler
    int32_t  repeat_last_n  = 64;
    uint32_t seed           = 0;
    std::string grammar;             // GBNF (llama.cpp's grammar format), root rule "root"; empty: none
    int32_t  n_probs        = -1;    // -1: no log-probabilities; else the token's and the top n_probs per generated token
};

// Caller owns the chain (llama_sampler_free). nullptr when the grammar does not parse (check_grammar
// reports why, at the call).
llama_sampler * make_sampler_chain(const SamplingOptions & o, const llama_vocab * vocab);

// Empty when llama.cpp parses the grammar; otherwise its reason (or a generic one).
std::string check_grammar(const llama_vocab * vocab, const std::string & grammar);

// The model's distribution at one position, as llama-server's n_probs reports it: log-softmax of
// the raw logits (before temperature, penalties and truncation). `chosen`'s log-probability, then
// the k most likely tokens, most likely first (ties: lower id first).
struct TokenLogprobs {
    float logprob = 0.0f;
    std::vector<std::pair<llama_token, float>> top;
};
TokenLogprobs token_logprobs(const float * logits, int32_t n_vocab, llama_token chosen, int32_t k);

}  // namespace ps
