#pragma once
// Tokenization, on the calling thread or on a libuv worker (tokenizeAsync), bounded first: a text
// that cannot fit in max_tokens is refused from its length alone, before llama.cpp runs (its
// tokenizers take seconds per megabyte, more for multi-byte text).
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"
#include "model-handle.h"

namespace ps {

struct TokenizeResult {
    std::vector<llama_token> tokens;
    // Empty on success; otherwise a PersonaSteerError code and its message.
    std::string code, message;
};

// max_tokens <= 0: no limit.
TokenizeResult tokenize_text(const ModelHandle & model, const std::string & text, bool add_special, bool parse_special,
                             int64_t max_tokens);

// The same on a libuv worker thread; the promise resolves to an Int32Array. The model stays alive
// until the work is done, even when disposed meanwhile.
Napi::Promise queue_tokenize(Napi::Env env, ModelPtr model, std::string text, bool add_special, bool parse_special,
                             int64_t max_tokens);

}  // namespace ps
