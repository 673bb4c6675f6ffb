#include "convert.h"

#include "errors.h"

namespace ps {

int32_t get_int(Napi::Env env, Napi::Object o, const char * key, int32_t fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsNumber()) throw_error(env, codes::INVALID_ARG, std::string(key) + " must be a number");
    return v.As<Napi::Number>().Int32Value();
}

double get_number(Napi::Env env, Napi::Object o, const char * key, double fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsNumber()) throw_error(env, codes::INVALID_ARG, std::string(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

bool get_bool(Napi::Env env, Napi::Object o, const char * key, bool fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsBoolean()) throw_error(env, codes::INVALID_ARG, std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
}

std::string get_string(Napi::Env env, Napi::Object o, const char * key, const std::string & fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsString()) throw_error(env, codes::INVALID_ARG, std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
}

SamplingOptions read_sampling(Napi::Env env, Napi::Value v) {
    SamplingOptions s;
    if (!v.IsObject()) return s;
    Napi::Object o = v.As<Napi::Object>();
    s.greedy = get_bool(env, o, "greedy", s.greedy);
    s.temperature = (float) get_number(env, o, "temperature", s.temperature);
    s.top_k = get_int(env, o, "topK", s.top_k);
    s.top_p = (float) get_number(env, o, "topP", s.top_p);
    s.min_p = (float) get_number(env, o, "minP", s.min_p);
    s.repeat_penalty = (float) get_number(env, o, "repeatPenalty", s.repeat_penalty);
    s.repeat_last_n = get_int(env, o, "repeatLastN", s.repeat_last_n);
    s.seed = (uint32_t) get_number(env, o, "seed", s.seed);
    s.grammar = get_string(env, o, "grammar", s.grammar);
    s.n_probs = get_int(env, o, "logprobs", s.n_probs);
    return s;
}

std::vector<int32_t> read_int_list(Napi::Env env, Napi::Value v, const char * what) {
    std::vector<int32_t> out;
    if (v.IsUndefined() || v.IsNull()) return out;
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
        Napi::Int32Array a = v.As<Napi::Int32Array>();
        out.assign(a.Data(), a.Data() + a.ElementLength());
        return out;
    }
    if (!v.IsArray()) throw_error(env, codes::INVALID_ARG, std::string(what) + " must be an Int32Array or an array of integers");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Int32Value());
    return out;
}

std::vector<float> read_floats(Napi::Env env, Napi::Value v, const char * what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw_error(env, codes::INVALID_ARG, std::string(what) + " must be a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<SeqTokens> read_sequences(Napi::Env env, Napi::Value v) {
    if (!v.IsArray()) throw_error(env, codes::INVALID_ARG, "sequences must be an array");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<SeqTokens> out;
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Object o = arr.Get(i).As<Napi::Object>();
        SeqTokens s;
        s.seq = get_int(env, o, "seq", 0);
        s.pos0 = get_int(env, o, "pos0", 0);
        s.tokens = read_int_list(env, o.Get("tokens"), "tokens");
        Napi::Value lg = o.Get("logits");
        if (lg.IsTypedArray()) {
            Napi::Uint8Array a = lg.As<Napi::Uint8Array>();
            s.logits.assign(a.Data(), a.Data() + a.ElementLength());
            if (s.logits.size() != s.tokens.size()) throw_error(env, codes::INVALID_ARG, "logits must have one entry per token");
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace ps
