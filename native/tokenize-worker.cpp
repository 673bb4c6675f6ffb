#include "tokenize-worker.h"

#include "abort-guard.h"
#include "errors.h"

#include <algorithm>
#include <climits>

namespace ps {

namespace {

TokenizeResult fail(const std::string & code, const std::string & message) {
    TokenizeResult r;
    r.code = code;
    r.message = message;
    return r;
}

// SentencePiece and byte-level BPE vocabularies keep every byte of the text in some token's piece
// (SentencePiece may add a leading space), so B bytes need at least B / max_piece tokens. Other
// tokenizers normalise (collapse spaces, strip accents) and get no bound. The factor 2 leaves room
// for bytes llama.cpp rewrites (invalid UTF-8 becomes U+FFFD).
int64_t min_tokens(const ModelHandle & model, size_t bytes) {
    const llama_vocab * vocab = llama_model_get_vocab(model.model);
    const enum llama_vocab_type type = llama_vocab_type(vocab);
    if (model.max_piece_bytes <= 0 || (type != LLAMA_VOCAB_TYPE_SPM && type != LLAMA_VOCAB_TYPE_BPE)) return 0;
    return (int64_t) (bytes / (2 * (size_t) model.max_piece_bytes));
}

class TokenizeWorker : public Napi::AsyncWorker {
public:
    TokenizeWorker(Napi::Env env, ModelPtr model, std::string text, bool add_special, bool parse_special, int64_t max_tokens)
        : Napi::AsyncWorker(env, "persona-steer:tokenize"), deferred_(Napi::Promise::Deferred::New(env)), model_(std::move(model)),
          text_(std::move(text)), add_special_(add_special), parse_special_(parse_special), max_tokens_(max_tokens) {}

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        result_ = tokenize_text(*model_, text_, add_special_, parse_special_, max_tokens_);
        std::string().swap(text_);
    }

    void OnOK() override {
        Napi::Env env = Env();
        if (!result_.code.empty()) {
            deferred_.Reject(make_error(env, result_.code, result_.message).Value());
            return;
        }
        Napi::Int32Array out = Napi::Int32Array::New(env, result_.tokens.size());
        std::copy(result_.tokens.begin(), result_.tokens.end(), out.Data());
        deferred_.Resolve(out);
    }

    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    ModelPtr model_;
    std::string text_;
    bool add_special_, parse_special_;
    int64_t max_tokens_;
    TokenizeResult result_;
};

}  // namespace

TokenizeResult tokenize_text(const ModelHandle & model, const std::string & text, bool add_special, bool parse_special,
                             int64_t max_tokens) {
    const llama_vocab * vocab = llama_model_get_vocab(model.model);
    if (llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_NONE) {
        return fail(codes::INVALID_ARG, "text cannot be tokenized: the model has no vocabulary (tokenizer.ggml.model is \"none\"); pass token ids");
    }
    if (text.size() > (size_t) INT32_MAX / 2) {
        return fail(codes::INVALID_ARG, "text must be at most " + std::to_string(INT32_MAX / 2) + " bytes of UTF-8; received " +
                    std::to_string(text.size()));
    }
    if (max_tokens > 0) {
        const int64_t least = min_tokens(model, text.size());
        if (least > max_tokens) {
            return fail(codes::CONTEXT_OVERFLOW, "text is " + std::to_string(text.size()) + " bytes, at least " + std::to_string(least) +
                        " tokens (no token of this vocabulary stands for more than " + std::to_string(model.max_piece_bytes) +
                        " bytes), more than the " + std::to_string(max_tokens) + " allowed");
        }
    }
    TokenizeResult r;
    try {
        AbortGuard guard;
        r.tokens.resize(text.size() + 8);
        int32_t n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), r.tokens.data(), (int32_t) r.tokens.size(), add_special, parse_special);
        if (n == INT32_MIN) return fail(codes::INVALID_ARG, "text has more tokens than llama.cpp can count");
        if (n < 0) {
            r.tokens.resize((size_t) -n);
            n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), r.tokens.data(), (int32_t) r.tokens.size(), add_special, parse_special);
            if (n < 0) return fail(codes::NATIVE, "tokenization failed");
        }
        r.tokens.resize((size_t) n);
        r.tokens.shrink_to_fit();
    } catch (const std::bad_alloc &) {
        return fail(codes::NATIVE, "tokenizing: out of memory");
    } catch (const std::exception & e) {
        return fail(codes::NATIVE, std::string("tokenizing failed inside llama.cpp (the model's vocabulary is inconsistent): ") + e.what());
    }
    if (max_tokens > 0 && (int64_t) r.tokens.size() > max_tokens) {
        return fail(codes::CONTEXT_OVERFLOW, "text has " + std::to_string(r.tokens.size()) + " tokens, more than the " +
                    std::to_string(max_tokens) + " allowed");
    }
    return r;
}

Napi::Promise queue_tokenize(Napi::Env env, ModelPtr model, std::string text, bool add_special, bool parse_special,
                             int64_t max_tokens) {
    auto * worker = new TokenizeWorker(env, std::move(model), std::move(text), add_special, parse_special, max_tokens);
    Napi::Promise p = worker->promise();
    worker->Queue();  // deletes itself after OnOK/OnError
    return p;
}

}  // namespace ps
