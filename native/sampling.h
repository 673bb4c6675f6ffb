#pragma once
// Builds llama.cpp's sampler chain from plain options (no N-API: testable on its own).
#include "llama.h"

#include <cstdint>

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
};

// Caller owns the chain (llama_sampler_free).
llama_sampler * make_sampler_chain(const SamplingOptions & o, int32_t n_vocab);

}  // namespace ps
