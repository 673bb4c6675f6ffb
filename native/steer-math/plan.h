#pragma once
// Compiles a steering plan into what the in-graph stage needs per block (pure C++: no N-API, no
// llama.cpp, so it is tested on its own against a TypeScript oracle).
//
// Semantics (docs/api.md): at a block, additions first, h1 = h + c with c = sum(scale * v); then
// every clamp and ablation, each computed from h1 with its unit direction u = v / |v|:
//   h2 = h1 + sum_k (clamp(h1.u_k, lo_k, hi_k) - h1.u_k) u_k      (ablation: lo = hi = 0)
// which is exactly what llama_steer_set_dirs / llama_steer_set_slot take (include/llama-steer.h).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ps {

enum class OpKind { Add, Clamp };

struct PlanOp {
    OpKind kind = OpKind::Add;
    std::vector<int32_t> blocks;
    // One direction per block in `blocks` (same order), each n_embd floats.
    std::vector<std::vector<float>> vectors;
    float scale = 1.0f;     // Add only
    bool has_min = false;   // Clamp only
    bool has_max = false;
    float min = 0.0f;
    float max = 0.0f;
};

struct BlockClamp {
    std::vector<float> unit;          // [n_embd], |unit| = 1
    float lo, hi;                     // -inf / +inf where a side is open
};

struct BlockParams {
    std::vector<float> add;           // [n_embd] (zeros when the block only clamps)
    std::vector<BlockClamp> clamps;
};

struct CompiledPlan {
    int32_t n_embd = 0;
    std::map<int32_t, BlockParams> blocks;
    int32_t max_clamps() const;
};

// Throws std::invalid_argument with a message naming the offending field on bad input
// (zero-length direction in a clamp, min > max, wrong vector size, non-finite values, overflow).
CompiledPlan compile_plan(const std::vector<PlanOp> & ops, int32_t n_embd, int32_t n_layer);

// Directions rounded up so that adding a clamp or two does not change the graph's shape.
int32_t dir_capacity(int32_t needed);

}  // namespace ps
