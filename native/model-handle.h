#pragma once
// Owns a llama_model. Contexts hold a shared_ptr, so a model lives until its last context is gone
// even after Model.dispose().
#include "llama.h"

#include <memory>

namespace ps {

struct ModelHandle {
    llama_model * model;
    explicit ModelHandle(llama_model * m) : model(m) {}
    ~ModelHandle() { llama_model_free(model); }
    ModelHandle(const ModelHandle &) = delete;
    ModelHandle & operator=(const ModelHandle &) = delete;
};

using ModelPtr = std::shared_ptr<ModelHandle>;

}  // namespace ps
