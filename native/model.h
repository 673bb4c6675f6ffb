#pragma once
// JS class Model: metadata, tokenizer, chat template, context creation, dispose.
#include <napi.h>

#include "env-state.h"
#include "model-handle.h"

namespace ps {

class ModelWrap : public Napi::ObjectWrap<ModelWrap>, public Resource {
public:
    static Napi::Function define(Napi::Env env);
    // JS thread: wrap an already loaded model.
    static Napi::Object wrap(Napi::Env env, ModelPtr model, size_t bytes);

    explicit ModelWrap(const Napi::CallbackInfo & info);
    ~ModelWrap() override;
    void teardown() override;

    const ModelPtr & handle(Napi::Env env) const;

private:
    Napi::Value info(const Napi::CallbackInfo & info);
    Napi::Value tokenize(const Napi::CallbackInfo & info);
    Napi::Value tokenize_async(const Napi::CallbackInfo & info);
    Napi::Value detokenize(const Napi::CallbackInfo & info);
    Napi::Value token_to_piece(const Napi::CallbackInfo & info);
    Napi::Value apply_chat_template(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);
    Napi::Value is_disposed(const Napi::CallbackInfo & info);

    const llama_model * live(Napi::Env env) const;

    ModelPtr model_;
    int64_t external_bytes_ = 0;
    Napi::Env env_;
};

}  // namespace ps
