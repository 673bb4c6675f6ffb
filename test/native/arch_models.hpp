// The architecture matrix: tiny random-weight GGUFs of many llama.cpp architectures, written by
// persona_steer_make_models and checked by persona_steer_arch_test (and by the TypeScript tests in
// test/small-model/architectures.test.ts, through models.json).
//
// A model is described by its GGUF metadata only: llama.cpp itself (llama_model_init_from_user)
// decides which tensors the architecture has and their shapes, so a spec is a few keys, never a
// hand-kept tensor list. Weights are random (deterministic from the tensor name); the vocabulary is
// stories260K's (512 tokens), so every model tokenizes text the same way.
#pragma once

#include "gguf.h"
#include "llama.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace arch_models {

// Keys under the architecture's prefix ("<arch>.<key>").
struct kv_writer {
    gguf_context * g;
    std::string    arch;

    std::string key(const std::string & k) const { return arch + "." + k; }
    void u32(const std::string & k, uint32_t v) const { gguf_set_val_u32(g, key(k).c_str(), v); }
    void global_u32(const char * k, uint32_t v) const { gguf_set_val_u32(g, k, v); }
    void f32(const std::string & k, float v) const { gguf_set_val_f32(g, key(k).c_str(), v); }
    void flag(const std::string & k, bool v) const { gguf_set_val_bool(g, key(k).c_str(), v); }
    void u32s(const std::string & k, const std::vector<uint32_t> & v) const {
        gguf_set_arr_data(g, key(k).c_str(), GGUF_TYPE_UINT32, v.data(), v.size());
    }
    void i32s(const std::string & k, const std::vector<int32_t> & v) const {
        gguf_set_arr_data(g, key(k).c_str(), GGUF_TYPE_INT32, v.data(), v.size());
    }
    void flags(const std::string & k, const std::vector<bool> & v) const {
        std::vector<int8_t> b(v.begin(), v.end());
        gguf_set_arr_data(g, key(k).c_str(), GGUF_TYPE_BOOL, b.data(), b.size());
    }
};

struct model_spec {
    std::string name;                   // file stem
    std::string arch;                   // general.architecture
    std::string kind;                   // what it exercises (support table)
    llama_ftype ftype   = LLAMA_FTYPE_ALL_F32;
    bool        hooked  = true;         // expected: every block hooked (else: every block refused)
    bool        f64     = false;        // one weight matrix stored as F64 (must be refused at load)
    uint32_t    n_layer = 3, n_embd = 64, n_head = 2, n_head_kv = 1, n_ff = 128;
    std::function<void(const kv_writer &, const model_spec &)> extra; // architecture-specific keys
};

inline const char * ftype_name(llama_ftype t) {
    switch (t) {
        case LLAMA_FTYPE_ALL_F32:       return "F32";
        case LLAMA_FTYPE_MOSTLY_Q8_0:   return "Q8_0";
        case LLAMA_FTYPE_MOSTLY_Q4_0:   return "Q4_0";
        case LLAMA_FTYPE_MOSTLY_Q4_K_M: return "Q4_K_M";
        default:                        return "?";
    }
}

// per-layer arrays
inline std::vector<uint32_t> per_layer(uint32_t n, const std::function<uint32_t(uint32_t)> & f) {
    std::vector<uint32_t> v(n);
    for (uint32_t i = 0; i < n; ++i) {
        v[i] = f(i);
    }
    return v;
}

inline void moe(const kv_writer & kv, uint32_t n_expert, uint32_t n_used, uint32_t n_ff_exp) {
    kv.u32("expert_count", n_expert);
    kv.u32("expert_used_count", n_used);
    kv.u32("expert_feed_forward_length", n_ff_exp);
}

inline void ssm(const kv_writer & kv, const model_spec & s, uint32_t n_group) {
    kv.u32("ssm.conv_kernel", 4);
    kv.u32("ssm.inner_size", 2*s.n_embd);
    kv.u32("ssm.state_size", 16);
    kv.u32("ssm.time_step_rank", 4); // Mamba-2: heads of the SSM (head dim inner_size / 4)
    kv.u32("ssm.group_count", n_group);
}

inline void sliding(const kv_writer & kv, uint32_t window, uint32_t pattern) {
    kv.u32("attention.sliding_window", window);
    kv.u32("attention.sliding_window_pattern", pattern);
}

// The matrix. Sliding windows are 4 tokens, shorter than the test prompts, so the masks matter.
inline std::vector<model_spec> specs() {
    std::vector<model_spec> v;
    auto add = [&](model_spec s) { v.push_back(std::move(s)); };

    add({"llama", "llama", "dense (GQA)"});
    { model_spec s{"llama-q8_0", "llama", "dense, Q8_0 weights"}; s.ftype = LLAMA_FTYPE_MOSTLY_Q8_0; add(s); }
    { model_spec s{"llama-q4_0", "llama", "dense, Q4_0 weights"}; s.ftype = LLAMA_FTYPE_MOSTLY_Q4_0; add(s); }
    { model_spec s{"llama-q4_k", "llama", "dense, Q4_K_M weights"}; s.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
      s.n_embd = 256; s.n_ff = 512; s.n_head = 4; add(s); }
    add({"qwen2", "qwen2", "dense, QKV biases"});
    { model_spec s{"qwen3", "qwen3", "dense, QK norm, MQA"}; s.n_head = 4; add(s); }
    { model_spec s{"qwen3moe", "qwen3moe", "MoE (4 experts, top 2)"};
      s.extra = [](const kv_writer & kv, const model_spec &) { moe(kv, 4, 2, 64); }; add(s); }
    { model_spec s{"gemma2", "gemma2", "sliding window (alternating), logit soft-capping"};
      s.extra = [](const kv_writer & kv, const model_spec &) {
          sliding(kv, 4, 2);
          kv.f32("attn_logit_softcapping", 50.0f);
          kv.f32("final_logit_softcapping", 30.0f);
      }; add(s); }
    { model_spec s{"gemma3", "gemma3", "sliding window (pattern 2), QK norm"};
      s.extra = [](const kv_writer & kv, const model_spec &) { sliding(kv, 4, 2); }; add(s); }
    { model_spec s{"gemma3n", "gemma3n", "altup (4 stacked streams), laurel, per-layer inputs"}; s.n_layer = 4; s.n_head_kv = 2;
      s.extra = [](const kv_writer & kv, const model_spec &) { sliding(kv, 4, 2); }; add(s); }
    { model_spec s{"phi3", "phi3", "dense, fused QKV and up/gate"}; s.n_head_kv = 2; add(s); }
    { model_spec s{"olmo2", "olmo2", "dense, post-norms"}; s.n_head_kv = 2; add(s); }
    { model_spec s{"granite", "granite", "dense, residual and logit scales"};
      s.extra = [](const kv_writer & kv, const model_spec &) {
          kv.f32("logit_scale", 2.0f); kv.f32("residual_multiplier", 0.5f);
          kv.f32("embedding_multiplier", 4.0f); kv.f32("attention.scale", 0.125f);
      }; add(s); }
    { model_spec s{"granitemoe", "granitemoe", "MoE, residual scale"};
      s.extra = [](const kv_writer & kv, const model_spec &) {
          moe(kv, 4, 2, 64);
          kv.f32("logit_scale", 2.0f); kv.f32("residual_multiplier", 0.5f);
          kv.f32("embedding_multiplier", 4.0f); kv.f32("attention.scale", 0.125f);
      }; add(s); }
    { model_spec s{"minicpm", "minicpm", "dense, scaled residual (granite graph)"};
      s.extra = [](const kv_writer & kv, const model_spec &) {
          kv.f32("embedding_scale", 12.0f); kv.f32("residual_scale", 1.4f); kv.f32("logit_scale", 256.0f);
      }; add(s); }
    { model_spec s{"mistral3", "mistral3", "dense"}; add(s); }
    { model_spec s{"starcoder2", "starcoder2", "dense, layer norm, biases"}; s.n_head_kv = 2; add(s); }
    { model_spec s{"command-r", "command-r", "parallel attention and FFN"}; s.n_head_kv = 2; add(s); }
    { model_spec s{"gptneox", "gptneox", "parallel residual, fused QKV"}; s.n_head_kv = 2;
      s.extra = [](const kv_writer & kv, const model_spec &) { kv.flag("use_parallel_residual", true); kv.u32("rope.dimension_count", 16); };
      add(s); }
    { model_spec s{"deepseek2", "deepseek2", "MLA attention, MoE with shared expert, leading dense block"}; s.n_head_kv = 1;
      s.extra = [](const kv_writer & kv, const model_spec &) {
          kv.u32("leading_dense_block_count", 1);
          moe(kv, 4, 2, 32);
          kv.u32("expert_shared_count", 1);
          kv.u32("expert_gating_func", 1); // softmax
          kv.u32("attention.q_lora_rank", 32);
          kv.u32("attention.kv_lora_rank", 32);
          kv.u32("attention.key_length", 48);       // kv_lora_rank + rope: the absorbed (MQA) form
          kv.u32("attention.value_length", 32);
          kv.u32("attention.key_length_mla", 48);   // per head: nope 32 + rope 16
          kv.u32("attention.value_length_mla", 32);
          kv.u32("rope.dimension_count", 16);
      }; add(s); }
    { model_spec s{"gpt-oss", "gpt-oss", "MoE, attention sinks, sliding window"}; s.n_head_kv = 2;
      s.extra = [](const kv_writer & kv, const model_spec &) { moe(kv, 4, 2, 64); sliding(kv, 4, 2); }; add(s); }
    { model_spec s{"mamba2", "mamba2", "pure SSM (Mamba-2)"};
      s.extra = [](const kv_writer & kv, const model_spec & m) { ssm(kv, m, 1); }; add(s); }
    { model_spec s{"granitehybrid", "granitehybrid", "hybrid: Mamba-2 and attention blocks"}; s.n_layer = 4;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          ssm(kv, m, 1);
          kv.u32s("attention.head_count", per_layer(m.n_layer, [](uint32_t) { return 2u; }));
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il % 2 == 1 ? 1u : 0u; }));
          kv.f32("logit_scale", 2.0f); kv.f32("residual_multiplier", 0.5f);
          kv.f32("embedding_multiplier", 4.0f); kv.f32("attention.scale", 0.125f);
      }; add(s); }
    { model_spec s{"nemotron_h", "nemotron_h", "hybrid: attention, Mamba-2 and FFN blocks"}; s.n_layer = 4;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          ssm(kv, m, 1);
          // block kinds: 0 attention, 1 Mamba-2, 2 FFN, 3 Mamba-2 (a block is Mamba-2 when it has
          // neither KV heads nor an FFN; the head size comes from block 0)
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il == 0 ? 1u : 0u; }));
          kv.u32s("feed_forward_length", per_layer(m.n_layer, [&](uint32_t il) { return il == 2 ? m.n_ff : 0u; }));
      }; add(s); }
    { model_spec s{"nemotron_h_moe", "nemotron_h_moe", "hybrid: attention, Mamba-2 and MoE blocks"}; s.n_layer = 4;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          ssm(kv, m, 1);
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il == 0 ? 1u : 0u; }));
          kv.u32s("feed_forward_length", per_layer(m.n_layer, [&](uint32_t il) { return il == 2 ? m.n_ff : 0u; }));
          moe(kv, 4, 2, 64);
          kv.u32("expert_shared_feed_forward_length", 64);
          kv.u32("expert_shared_count", 1);
          kv.flag("expert_weights_norm", true);
          kv.f32("expert_weights_scale", 1.0f);
      }; add(s); }
    { model_spec s{"deci", "deci", "per-block shapes: no-op, attention-only, linear-attention and full blocks"}; s.n_layer = 5;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          // blocks: 0 full, 1 no attention and no FFN, 2 attention without FFN, 3 linear attention + FFN, 4 full
          kv.u32s("attention.head_count", per_layer(m.n_layer, [](uint32_t il) { return il == 1 ? 0u : 2u; }));
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il == 1 || il == 3 ? 0u : 1u; }));
          kv.u32s("feed_forward_length", per_layer(m.n_layer, [&](uint32_t il) { return il == 1 || il == 2 ? 0u : m.n_ff; }));
      }; add(s); }
    { model_spec s{"qwen35", "qwen35", "hybrid: gated delta-net and attention blocks"}; s.n_layer = 4; s.n_head = 2; s.n_head_kv = 2;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          kv.u32("ssm.conv_kernel", 4);
          kv.u32("ssm.inner_size", 128);
          kv.u32("ssm.state_size", 32);
          kv.u32("ssm.time_step_rank", 4);
          kv.u32("ssm.group_count", 2);
          kv.u32("full_attention_interval", 2);
          kv.u32s("rope.dimension_sections", { 4, 4, 4, 4 });
          (void) m;
      }; add(s); }
    { model_spec s{"lfm2", "lfm2", "hybrid: short convolutions and attention blocks"}; s.n_layer = 4;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          kv.u32("shortconv.l_cache", 3);
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il % 2 == 1 ? 1u : 0u; }));
      }; add(s); }
    { model_spec s{"jamba", "jamba", "hybrid: Mamba and attention blocks, MoE"}; s.n_layer = 4;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          kv.u32("ssm.conv_kernel", 4);
          kv.u32("ssm.inner_size", 2*m.n_embd);
          kv.u32("ssm.state_size", 16);
          kv.u32("ssm.time_step_rank", 8);
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il % 2 == 1 ? 1u : 0u; }));
          kv.u32("expert_count", 4);
          kv.u32("expert_used_count", 2);
      }; add(s); }
    { model_spec s{"falcon-h1", "falcon-h1", "hybrid: parallel Mamba-2 and attention in every block"};
      s.extra = [](const kv_writer & kv, const model_spec & m) { ssm(kv, m, 1); }; add(s); }

    // Refused: encoders (no decoder block output) and builders without the hook.
    { model_spec s{"bert", "bert", "encoder (BERT)"}; s.hooked = false; s.n_head_kv = 2;
      s.extra = [](const kv_writer & kv, const model_spec &) { kv.global_u32("tokenizer.ggml.token_type_count", 2); }; add(s); }
    { model_spec s{"plamo2", "plamo2", "hybrid Mamba/attention; its builder has no hook"}; s.hooked = false; s.n_layer = 2;
      s.extra = [](const kv_writer & kv, const model_spec & m) {
          ssm(kv, m, 0);
          kv.u32s("attention.head_count_kv", per_layer(m.n_layer, [](uint32_t il) { return il % 2 == 1 ? 1u : 0u; }));
      }; add(s); }

    return v;
}

// Loader failure fixture: one weight matrix in F64, a type the CPU backend cannot multiply.
inline model_spec f64_spec() {
    model_spec s{"llama-f64", "llama", "dense, one F64 weight matrix"};
    s.f64 = true;
    return s;
}

} // namespace arch_models
