#include "model.h"
#include "type-tags.h"

#include "boundary.h"
#include "errors.h"
#include "tokenize-worker.h"

#include <memory>
#include <vector>

namespace ps {

namespace {
std::string meta_str(const llama_model * m, const char * key) {
    char buf[256];
    int32_t n = llama_model_meta_val_str(m, key, buf, sizeof(buf));
    if (n < 0) return "";
    if ((size_t) n < sizeof(buf)) return std::string(buf, (size_t) n);
    std::string big((size_t) n + 1, '\0');
    llama_model_meta_val_str(m, key, big.data(), big.size());
    big.resize((size_t) n);
    return big;
}
}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
    return DefineClass(env, "NativeModel", {
        InstanceMethod<&ModelWrap::info>("info"),
        InstanceMethod<&ModelWrap::tokenize>("tokenize"),
        InstanceMethod<&ModelWrap::tokenize_async>("tokenizeAsync"),
        InstanceMethod<&ModelWrap::detokenize>("detokenize"),
        InstanceMethod<&ModelWrap::token_to_piece>("tokenToPiece"),
        InstanceMethod<&ModelWrap::apply_chat_template>("applyChatTemplate"),
        InstanceMethod<&ModelWrap::dispose>("dispose"),
        InstanceMethod<&ModelWrap::is_disposed>("isDisposed"),
    });
}

Napi::Object ModelWrap::wrap(Napi::Env env, ModelPtr model, size_t bytes) {
    // Owned here until the constructor has copied it: New() throws when JS cannot run (a worker's
    // environment being torn down), and the model must then be freed, not leaked.
    std::unique_ptr<ModelPtr> boxed(new ModelPtr(std::move(model)));
    Napi::Object obj = EnvState::get(env).model_ctor.New({Napi::External<ModelPtr>::New(env, boxed.get())});
    boxed.reset();
    ModelWrap * self = ModelWrap::Unwrap(obj);
    self->external_bytes_ = (int64_t) bytes;
    Napi::MemoryManagement::AdjustExternalMemory(env, self->external_bytes_);
    return obj;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ModelWrap>(info), env_(info.Env()) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
        throw_error(info.Env(), codes::INVALID_ARG, "NativeModel cannot be constructed directly; use loadModel()");
    }
    model_ = *info[0].As<Napi::External<ModelPtr>>().Data();
    info.This().As<Napi::Object>().TypeTag(&kModelTag);
    EnvState::get(env_).add(this);
}

ModelWrap::~ModelWrap() {
    if (!EnvState::get(env_).closing()) EnvState::get(env_).remove(this);
    teardown();
}

void ModelWrap::teardown() {
    if (!model_) return;
    model_.reset();
    if (external_bytes_ != 0 && !EnvState::get(env_).closing()) {
        Napi::MemoryManagement::AdjustExternalMemory(env_, -external_bytes_);
    }
    external_bytes_ = 0;
}

const ModelPtr & ModelWrap::handle(Napi::Env env) const {
    if (!model_) throw_error(env, codes::DISPOSED, "the model was disposed");
    return model_;
}

const llama_model * ModelWrap::live(Napi::Env env) const { return handle(env)->model; }

Napi::Value ModelWrap::info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const ModelPtr & h = handle(env);
    return guarded(env, "reading the model's metadata", codes::NATIVE, [&]() -> Napi::Value {
        const llama_model * m = h->model;
        const llama_vocab * vocab = llama_model_get_vocab(m);
        // A vocabulary-only model has no hyperparameters: llama.cpp asserts when asked for them.
        const bool full = !h->vocab_only;
        Napi::Object o = Napi::Object::New(env);
        char desc[256];
        llama_model_desc(m, desc, sizeof(desc));
        const char * tmpl = llama_model_chat_template(m, nullptr);
        o.Set("architecture", meta_str(m, "general.architecture"));
        o.Set("name", meta_str(m, "general.name"));
        o.Set("description", std::string(desc));
        o.Set("vocabOnly", h->vocab_only);
        o.Set("blockCount", full ? llama_model_n_layer(m) : 0);
        o.Set("embeddingSize", full ? llama_model_n_embd(m) : 0);
        o.Set("vocabularySize", llama_vocab_n_tokens(vocab));
        o.Set("trainingContextSize", full ? llama_model_n_ctx_train(m) : 0);
        o.Set("headCount", full ? llama_model_n_head(m) : 0);
        o.Set("headCountKv", full ? llama_model_n_head_kv(m) : 0);
        o.Set("parameterCount", full ? (double) llama_model_n_params(m) : 0.0);
        o.Set("sizeBytes", full ? (double) llama_model_size(m) : 0.0);
        o.Set("hasEncoder", full && llama_model_has_encoder(m));
        o.Set("hasDecoder", full && llama_model_has_decoder(m));
        o.Set("chatTemplate", tmpl ? Napi::Value(Napi::String::New(env, tmpl)) : env.Null());
        o.Set("bosToken", llama_vocab_bos(vocab));
        o.Set("eosToken", llama_vocab_eos(vocab));
        o.Set("eotToken", llama_vocab_eot(vocab));
        o.Set("addBos", llama_vocab_get_add_bos(vocab));
        o.Set("maxTokenBytes", h->max_piece_bytes);
        return o;
    });
}

// tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array
Napi::Value ModelWrap::tokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const ModelPtr & h = handle(env);
    const std::string text = info[0].As<Napi::String>().Utf8Value();
    const bool add_special = info[1].As<Napi::Boolean>().Value();
    const bool parse_special = info[2].As<Napi::Boolean>().Value();
    TokenizeResult r = tokenize_text(*h, text, add_special, parse_special, 0);
    if (!r.code.empty()) throw_error(env, r.code, r.message);
    Napi::Int32Array out = Napi::Int32Array::New(env, r.tokens.size());
    std::copy(r.tokens.begin(), r.tokens.end(), out.Data());
    return out;
}

// tokenizeAsync(text: string, addSpecial: boolean, parseSpecial: boolean, maxTokens: number): Promise<Int32Array>
Napi::Value ModelWrap::tokenize_async(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const ModelPtr & h = handle(env);
    return queue_tokenize(env, h, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Boolean>().Value(),
                          info[2].As<Napi::Boolean>().Value(), (int64_t) info[3].As<Napi::Number>().DoubleValue());
}

// detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string
Napi::Value ModelWrap::detokenize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const llama_vocab * vocab = llama_model_get_vocab(live(env));
    Napi::Int32Array toks = info[0].As<Napi::Int32Array>();
    const bool remove_special = info[1].As<Napi::Boolean>().Value();
    const bool unparse_special = info[2].As<Napi::Boolean>().Value();
    const int32_t n_vocab = llama_vocab_n_tokens(vocab);
    for (size_t i = 0; i < toks.ElementLength(); i++) {
        if (toks[i] < 0 || toks[i] >= n_vocab) {
            throw_error(env, codes::INVALID_ARG, "tokens[" + std::to_string(i) + "] must be a token id in [0, " +
                        std::to_string(n_vocab) + "); received " + std::to_string(toks[i]));
        }
    }
    if (toks.ElementLength() > (size_t) INT32_MAX / 8) throw_error(env, codes::INVALID_ARG, "tokens is too long to detokenize");
    std::string text = guarded(env, "detokenizing", codes::NATIVE, [&]() {
        std::string t(toks.ElementLength() * 8 + 16, '\0');
        int32_t n = llama_detokenize(vocab, toks.Data(), (int32_t) toks.ElementLength(), t.data(), (int32_t) t.size(), remove_special, unparse_special);
        if (n < 0) {
            t.resize((size_t) -n);
            n = llama_detokenize(vocab, toks.Data(), (int32_t) toks.ElementLength(), t.data(), (int32_t) t.size(), remove_special, unparse_special);
            if (n < 0) throw_error(env, codes::NATIVE, "detokenization failed");
        }
        t.resize((size_t) n);
        return t;
    });
    return Napi::String::New(env, text);
}

// tokenToPiece(token: number, special: boolean): Uint8Array (raw bytes: a piece may be part of a UTF-8 character)
Napi::Value ModelWrap::token_to_piece(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const llama_vocab * vocab = llama_model_get_vocab(live(env));
    const int32_t tok = info[0].As<Napi::Number>().Int32Value();
    if (tok < 0 || tok >= llama_vocab_n_tokens(vocab)) {
        throw_error(env, codes::INVALID_ARG, "token must be a token id in [0, " + std::to_string(llama_vocab_n_tokens(vocab)) +
                    "); received " + std::to_string(tok));
    }
    const bool special = info[1].As<Napi::Boolean>().Value();
    std::string piece = guarded(env, "reading a token's text", codes::NATIVE, [&]() {
        std::string p(256, '\0');
        int32_t n = llama_token_to_piece(vocab, tok, p.data(), (int32_t) p.size(), 0, special);
        if (n < 0) {
            p.resize((size_t) -n);
            n = llama_token_to_piece(vocab, tok, p.data(), (int32_t) p.size(), 0, special);
        }
        p.resize(n < 0 ? 0 : (size_t) n);
        return p;
    });
    Napi::Uint8Array out = Napi::Uint8Array::New(env, piece.size());
    std::copy(piece.begin(), piece.end(), out.Data());
    return out;
}

// applyChatTemplate(messages: {role, content}[], addAssistant: boolean, template: string | null): string
Napi::Value ModelWrap::apply_chat_template(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const llama_model * m = live(env);
    Napi::Array arr = info[0].As<Napi::Array>();
    const bool add_ass = info[1].As<Napi::Boolean>().Value();
    std::string tmpl;
    if (info[2].IsString()) {
        tmpl = info[2].As<Napi::String>().Utf8Value();
    } else {
        const char * t = llama_model_chat_template(m, nullptr);
        if (t == nullptr) throw_error(env, codes::CHAT_TEMPLATE, "the model has no chat template (tokenizer.chat_template); pass options.template");
        tmpl = t;
    }
    // llama.cpp takes C strings: a NUL would silently cut the text there (lib/model.ts says which argument).
    auto no_nul = [&](const std::string & v, const std::string & name) {
        if (v.find('\0') != std::string::npos) throw_error(env, codes::INVALID_ARG, name + " must not contain NUL characters");
    };
    no_nul(tmpl, "options.template");
    std::vector<std::string> roles, contents;
    size_t total = 0;
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Object msg = arr.Get(i).As<Napi::Object>();
        roles.push_back(msg.Get("role").As<Napi::String>().Utf8Value());
        contents.push_back(msg.Get("content").As<Napi::String>().Utf8Value());
        no_nul(roles.back(), "messages[" + std::to_string(i) + "].role");
        no_nul(contents.back(), "messages[" + std::to_string(i) + "].content");
        total += roles.back().size() + contents.back().size();
    }
    if (total > (size_t) INT32_MAX / 4) throw_error(env, codes::INVALID_ARG, "messages are too long to format");
    std::vector<llama_chat_message> msgs;
    for (size_t i = 0; i < roles.size(); i++) msgs.push_back({roles[i].c_str(), contents[i].c_str()});
    std::string buf = guarded(env, "applying the chat template", codes::CHAT_TEMPLATE, [&]() {
        std::string b(total * 2 + 256, '\0');
        int32_t n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), add_ass, b.data(), (int32_t) b.size());
        if (n < 0) throw_error(env, codes::CHAT_TEMPLATE, "llama.cpp does not support this chat template");
        if ((size_t) n > b.size()) {
            b.resize((size_t) n);
            n = llama_chat_apply_template(tmpl.c_str(), msgs.data(), msgs.size(), add_ass, b.data(), (int32_t) b.size());
        }
        b.resize((size_t) n);
        return b;
    });
    return Napi::String::New(env, buf);
}

Napi::Value ModelWrap::dispose(const Napi::CallbackInfo & info) {
    teardown();
    return info.Env().Undefined();
}

Napi::Value ModelWrap::is_disposed(const Napi::CallbackInfo & info) {
    return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace ps
