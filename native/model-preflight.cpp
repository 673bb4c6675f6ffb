#include "model-preflight.h"

#include "gguf.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

namespace ps {

namespace {

// llama.cpp's limits (src/llama-hparams.h) and the alignment ggml's CPU backend asserts for a
// buffer made from a pointer into the mapped file (ggml-backend.cpp, TENSOR_ALIGNMENT).
constexpr int64_t kMaxLayers = 512;
constexpr int64_t kMaxExperts = 1024;
constexpr size_t kTensorAlignment = 32;
constexpr size_t kMaxTrieTokenBytes = 1024;

struct Meta {
    const gguf_context * ctx;
    std::string arch;

    int64_t find(const std::string & key) const { return gguf_find_key(ctx, key.c_str()); }
    std::string arch_key(const char * suffix) const { return arch + "." + suffix; }

    static bool is_int(gguf_type t) {
        switch (t) {
            case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16:
            case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: return true;
            default: return false;
        }
    }

    static int64_t int_at(gguf_type t, const void * p, size_t i) {
        switch (t) {
            case GGUF_TYPE_UINT8: return ((const uint8_t *) p)[i];
            case GGUF_TYPE_INT8: return ((const int8_t *) p)[i];
            case GGUF_TYPE_UINT16: return ((const uint16_t *) p)[i];
            case GGUF_TYPE_INT16: return ((const int16_t *) p)[i];
            case GGUF_TYPE_UINT32: return ((const uint32_t *) p)[i];
            case GGUF_TYPE_INT32: return ((const int32_t *) p)[i];
            case GGUF_TYPE_UINT64: { uint64_t v = ((const uint64_t *) p)[i]; return v > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) v; }
            case GGUF_TYPE_INT64: return ((const int64_t *) p)[i];
            default: return 0;
        }
    }

    // An integer key: its value, or for an array of integers (per-block values) the largest one.
    // nullopt when absent or of another type (llama.cpp reports a wrong type itself).
    std::optional<int64_t> int_or_max(const std::string & key) const {
        const int64_t id = find(key);
        if (id < 0) return std::nullopt;
        const gguf_type t = gguf_get_kv_type(ctx, id);
        if (is_int(t)) return int_at(t, gguf_get_val_data(ctx, id), 0);
        if (t == GGUF_TYPE_ARRAY && is_int(gguf_get_arr_type(ctx, id))) {
            const size_t n = gguf_get_arr_n(ctx, id);
            const void * data = gguf_get_arr_data(ctx, id);
            int64_t m = 0;
            for (size_t i = 0; i < n; i++) m = std::max(m, int_at(gguf_get_arr_type(ctx, id), data, i));
            return m;
        }
        return std::nullopt;
    }

    std::optional<double> real(const std::string & key) const {
        const int64_t id = find(key);
        if (id < 0) return std::nullopt;
        switch (gguf_get_kv_type(ctx, id)) {
            case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(ctx, id);
            case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(ctx, id);
            default: return std::nullopt;
        }
    }

    std::optional<std::string> str(const std::string & key) const {
        const int64_t id = find(key);
        if (id < 0 || gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) return std::nullopt;
        return std::string(gguf_get_val_str(ctx, id));
    }
};

std::string num(int64_t v) { return std::to_string(v); }

std::string real_text(double v) {
    if (std::isnan(v)) return "NaN";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
}

// The assertions of llama_model_base::load_hparams on block and expert counts.
std::string check_counts(const Meta & m) {
    const std::string k_blocks = m.arch_key("block_count");
    const auto n_layer = m.int_or_max(k_blocks);
    if (n_layer && (*n_layer < 1 || *n_layer > kMaxLayers)) {
        return k_blocks + " is " + num(*n_layer) + "; llama.cpp supports 1 to " + num(kMaxLayers) + " blocks";
    }
    const int64_t layers = n_layer.value_or(kMaxLayers);
    const std::string k_nextn = m.arch_key("nextn_predict_layers");
    if (auto v = m.int_or_max(k_nextn); v && (*v < 0 || *v > layers)) {
        return k_nextn + " is " + num(*v) + ", more than the " + num(layers) + " blocks (" + k_blocks + ")";
    }
    const std::string k_expert = m.arch_key("expert_count");
    const std::string k_used = m.arch_key("expert_used_count");
    const std::string k_groups = m.arch_key("expert_group_count");
    const std::string k_group_used = m.arch_key("expert_group_used_count");
    int64_t n_expert = m.int_or_max(k_expert).value_or(0);
    int64_t used = m.int_or_max(k_used).value_or(0);
    const int64_t groups = m.int_or_max(k_groups).value_or(0);
    const int64_t group_used = m.int_or_max(k_group_used).value_or(0);
    // llama.cpp treats these two architectures' single expert as none.
    if ((m.arch == "hunyuan-dense" || m.arch == "hunyuan_vl") && n_expert <= 1) { n_expert = 0; used = 0; }
    if (n_expert < 0 || n_expert > kMaxExperts) return k_expert + " is " + num(n_expert) + "; llama.cpp supports at most " + num(kMaxExperts);
    if (used < 0 || used > n_expert) return k_used + " is " + num(used) + ", more than " + k_expert + " (" + num(n_expert) + ")";
    if (n_expert > 0) {
        if (used == 0) return k_used + " is 0 but the model has " + num(n_expert) + " experts (" + k_expert + ")";
        if (groups < 0 || groups >= n_expert) return k_groups + " is " + num(groups) + "; it must be below " + k_expert + " (" + num(n_expert) + ")";
        if (groups > 1) {
            if (n_expert % groups != 0) return k_expert + " (" + num(n_expert) + ") is not a multiple of " + k_groups + " (" + num(groups) + ")";
            if (group_used <= 0 || group_used >= groups) {
                return k_group_used + " is " + num(group_used) + "; it must be in [1, " + k_groups + " (" + num(groups) + "))";
            }
        }
    } else if (groups != 0) {
        return k_groups + " is " + num(groups) + " but the model has no experts (" + k_expert + ")";
    }
    return "";
}

// Values llama.cpp accepts at load but ggml asserts on while decoding.
std::string check_values(const Meta & m) {
    const std::string k_rope = m.arch_key("rope.scaling.type");
    if (auto v = m.str(k_rope); v && *v != "none" && *v != "linear" && *v != "yarn" && *v != "longrope") {
        return k_rope + " is \"" + *v + "\"; llama.cpp knows none, linear, yarn and longrope";
    }
    for (const char * suffix : {"attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon", "attention.group_norm_epsilon"}) {
        const std::string key = m.arch_key(suffix);
        if (auto v = m.real(key); v && !(std::isfinite(*v) && *v >= 0)) {
            return key + " is " + real_text(*v) + "; a normalisation epsilon must be a finite number >= 0";
        }
    }
    return "";
}

// llama.cpp asserts that every token string is distinct (empty strings get a unique placeholder).
// The RWKV and T5 (UGM) tokenizers put every token string in a trie built and freed by recursion,
// one level per byte: a long token string overflows the thread's stack (512 KiB on macOS).
std::string check_vocab(const Meta & m) {
    const int64_t id = m.find("tokenizer.ggml.tokens");
    if (id < 0 || gguf_get_kv_type(m.ctx, id) != GGUF_TYPE_ARRAY || gguf_get_arr_type(m.ctx, id) != GGUF_TYPE_STRING) return "";
    const size_t n = gguf_get_arr_n(m.ctx, id);
    const std::string tokenizer = m.str("tokenizer.ggml.model").value_or("");
    const bool trie = tokenizer == "rwkv" || tokenizer == "t5";
    std::unordered_map<std::string, size_t> seen;
    seen.reserve(n);
    for (size_t i = 0; i < n; i++) {
        std::string s = gguf_get_arr_str(m.ctx, id, i);
        if (trie && s.size() > kMaxTrieTokenBytes) {
            return "tokenizer.ggml.tokens[" + num((int64_t) i) + "] is " + num((int64_t) s.size()) + " bytes; the " + tokenizer +
                   " tokenizer of llama.cpp takes token strings of at most " + num((int64_t) kMaxTrieTokenBytes);
        }
        if (s.empty()) continue;
        auto [it, fresh] = seen.emplace(std::move(s), i);
        if (!fresh) {
            std::string shown = it->first.size() > 40 ? it->first.substr(0, 37) + "..." : it->first;
            return "tokenizer.ggml.tokens has the same string at " + num((int64_t) it->second) + " and " + num((int64_t) i) +
                   " (\"" + shown + "\"); token strings must be distinct";
        }
    }
    return "";
}

std::string check_alignment(const gguf_context * ctx) {
    const size_t base = gguf_get_data_offset(ctx);
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); i++) {
        const size_t at = base + gguf_get_tensor_offset(ctx, i);
        if (at % kTensorAlignment != 0) {
            return std::string("tensor ") + gguf_get_tensor_name(ctx, i) + " starts at byte " + std::to_string(at) +
                   ", not a multiple of " + std::to_string(kTensorAlignment) + " (general.alignment is " +
                   std::to_string(gguf_get_alignment(ctx)) + "); memory-mapped tensors must be " +
                   std::to_string(kTensorAlignment) + "-byte aligned: load with useMmap: false";
        }
    }
    return "";
}

}  // namespace

PreflightResult preflight_model(FILE * fp, bool use_mmap, bool vocab_only) {
    PreflightResult r;
    std::fseek(fp, 0, SEEK_SET);
    gguf_init_params params = {/*no_alloc =*/ true, /*ctx =*/ nullptr};
    std::unique_ptr<gguf_context, void (*)(gguf_context *)> ctx(gguf_init_from_file_ptr(fp, params), gguf_free);
    std::fseek(fp, 0, SEEK_SET);
    // Unparseable: llama.cpp will refuse it too, with gguf.cpp's reason.
    if (!ctx) return r;
    Meta m{ctx.get(), ""};
    if (auto a = m.str("general.architecture")) m.arch = *a;
    if (auto n = m.int_or_max("split.count"); n && *n > 1) r.split = true;
    for (auto check : {check_vocab}) {
        if (!(r.error = check(m)).empty()) return r;
    }
    // llama.cpp reads no hyperparameters and no tensors for a vocabulary-only load.
    if (vocab_only) return r;
    for (auto check : {check_counts, check_values}) {
        if (!(r.error = check(m)).empty()) return r;
    }
    if (use_mmap) r.error = check_alignment(ctx.get());
    return r;
}

}  // namespace ps
