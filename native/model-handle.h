#pragma once
// Owns a llama_model. Contexts hold a shared_ptr, so a model lives until its last context is gone
// even after Model.dispose().
#include "llama.h"

#include <memory>

namespace ps {

struct ModelHandle {
    llama_model * model;
    // Loaded with vocab_only: no hyperparameters, no weights (llama.cpp asserts when asked for them).
    bool vocab_only = false;
    // The longest piece of text one token stands for (special tokens included): a prompt of B
    // bytes has at least B / max_piece_bytes tokens, which bounds tokenization before it runs.
    int32_t max_piece_bytes = 0;
    explicit ModelHandle(llama_model * m) : model(m) {}
    ~ModelHandle() { llama_model_free(model); }
    ModelHandle(const ModelHandle &) = delete;
    ModelHandle & operator=(const ModelHandle &) = delete;
};

using ModelPtr = std::shared_ptr<ModelHandle>;

}  // namespace ps
