#pragma once
// Compiles a steering plan into the per-block parameters of the in-graph stage
//   h <- h + U * relu(W h + b)
// Pure C++ (no N-API, no llama.cpp) so it is tested on its own against a TypeScript oracle.
//
// Semantics (docs/api.md): at a block, additions first, h1 = h + sum(scale * v); then every
// clamp and ablation, each computed from h1 with its unit direction u = v / |v|:
//   h2 = h1 + sum_k (clamp(h1.u_k, lo_k, hi_k) - h1.u_k) u_k      (ablation: lo = hi = 0)
// Encoding, with a = sum(scale * v):
//   bias unit:           W = 0,  b = 1,              U = a
//   lower bound lo_k:    W = -u, b = lo - u.a,       U = +u     relu(lo - p) adds (lo - p) when p < lo
//   upper bound hi_k:    W = +u, b = u.a - hi,       U = -u     relu(p - hi) removes (p - hi) when p > hi
// since relu(lo - p) - relu(p - hi) = clamp(p, lo, hi) - p for lo <= hi.
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

struct BlockParams {
    int32_t n_units = 0;              // units actually used
    std::vector<float> w, b, u;       // w, u: [n_units][n_embd] row-major; b: [n_units]
};

struct CompiledPlan {
    int32_t n_embd = 0;
    int32_t n_units = 0;              // capacity per block (>= every block's n_units)
    std::map<int32_t, BlockParams> blocks;
};

// Throws std::invalid_argument with a message naming the offending field on bad input
// (zero-length direction in a clamp, min > max, wrong vector size, non-finite values).
CompiledPlan compile_plan(const std::vector<PlanOp> & ops, int32_t n_embd, int32_t n_layer);

// Units rounded up so that adding a clamp or two does not change the graph's shape.
int32_t unit_capacity(int32_t needed);

// Pads every block's parameters to `n_units` rows of zeros (zero units are exact no-ops).
void pad_block(BlockParams & p, int32_t n_units, int32_t n_embd);

}  // namespace ps
