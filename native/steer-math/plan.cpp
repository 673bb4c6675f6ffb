#include "plan.h"

#include <cmath>
#include <stdexcept>

namespace ps {

namespace {

struct Clamp {
    std::vector<float> unit;
    bool has_min, has_max;
    float min, max;
};

struct BlockAccum {
    std::vector<double> add;   // double: a sum of many scaled vectors should not lose bits needlessly
    bool has_add = false;
    std::vector<Clamp> clamps;
};

void check_finite(const std::vector<float> & v, const std::string & what) {
    for (size_t i = 0; i < v.size(); i++) {
        if (!std::isfinite(v[i])) throw std::invalid_argument(what + "[" + std::to_string(i) + "] is not finite");
    }
}

}  // namespace

int32_t unit_capacity(int32_t needed) {
    if (needed <= 0) return 0;
    return (needed + 7) / 8 * 8;
}

void pad_block(BlockParams & p, int32_t n_units, int32_t n_embd) {
    p.w.resize((size_t) n_units * n_embd, 0.0f);
    p.u.resize((size_t) n_units * n_embd, 0.0f);
    p.b.resize((size_t) n_units, 0.0f);
}

CompiledPlan compile_plan(const std::vector<PlanOp> & ops, int32_t n_embd, int32_t n_layer) {
    std::map<int32_t, BlockAccum> acc;
    for (size_t i = 0; i < ops.size(); i++) {
        const PlanOp & op = ops[i];
        const std::string where = "steer[" + std::to_string(i) + "]";
        if (op.vectors.size() != op.blocks.size()) throw std::invalid_argument(where + ": one vector per block is required");
        if (op.kind == OpKind::Add && !std::isfinite(op.scale)) throw std::invalid_argument(where + ".scale is not finite");
        if (op.kind == OpKind::Clamp) {
            if ((op.has_min && !std::isfinite(op.min)) || (op.has_max && !std::isfinite(op.max))) {
                throw std::invalid_argument(where + ": min and max must be finite when given");
            }
            if (op.has_min && op.has_max && op.min > op.max) throw std::invalid_argument(where + ": min > max");
        }
        for (size_t j = 0; j < op.blocks.size(); j++) {
            const int32_t il = op.blocks[j];
            if (il < 0 || il >= n_layer) {
                throw std::invalid_argument(where + ": block " + std::to_string(il) + " is outside [0, " + std::to_string(n_layer) + ")");
            }
            const std::vector<float> & v = op.vectors[j];
            if ((int32_t) v.size() != n_embd) {
                throw std::invalid_argument(where + ": the vector for block " + std::to_string(il) + " has " +
                                            std::to_string(v.size()) + " values, the model's n_embd is " + std::to_string(n_embd));
            }
            check_finite(v, where + ".vector@" + std::to_string(il));
            BlockAccum & a = acc[il];
            if (op.kind == OpKind::Add) {
                if (a.add.empty()) a.add.assign((size_t) n_embd, 0.0);
                for (int32_t k = 0; k < n_embd; k++) a.add[k] += (double) op.scale * v[k];
                a.has_add = true;
            } else {
                double norm = 0;
                for (float x : v) norm += (double) x * x;
                norm = std::sqrt(norm);
                if (norm == 0) throw std::invalid_argument(where + ": the direction for block " + std::to_string(il) + " has zero length");
                Clamp c{std::vector<float>((size_t) n_embd), op.has_min, op.has_max, op.min, op.max};
                for (int32_t k = 0; k < n_embd; k++) c.unit[k] = (float) (v[k] / norm);
                if (c.has_min || c.has_max) a.clamps.push_back(std::move(c));
            }
        }
    }

    CompiledPlan plan;
    plan.n_embd = n_embd;
    int32_t max_units = 0;
    for (auto & [il, a] : acc) {
        BlockParams p;
        std::vector<float> add((size_t) n_embd, 0.0f);
        for (int32_t k = 0; k < n_embd && a.has_add; k++) add[k] = (float) a.add[k];
        auto push_unit = [&](const std::vector<float> & w, float b, const std::vector<float> & u, float u_sign) {
            for (int32_t k = 0; k < n_embd; k++) p.w.push_back(w.empty() ? 0.0f : w[k]);
            p.b.push_back(b);
            for (int32_t k = 0; k < n_embd; k++) p.u.push_back(u_sign * u[k]);
            p.n_units++;
        };
        if (a.has_add) push_unit({}, 1.0f, add, 1.0f);
        for (const Clamp & c : a.clamps) {
            double ua = 0;  // projection of the addition on u: the clamp sees h + a
            for (int32_t k = 0; k < n_embd; k++) ua += (double) c.unit[k] * add[k];
            if (c.has_min) {
                std::vector<float> neg(c.unit);
                for (float & x : neg) x = -x;
                push_unit(neg, (float) ((double) c.min - ua), c.unit, 1.0f);
            }
            if (c.has_max) push_unit(c.unit, (float) (ua - (double) c.max), c.unit, -1.0f);
        }
        // Finite inputs can still overflow float32 here (a huge scale, several adds summed, a bound
        // far from the added offset); the graph refuses non-finite parameters, so refuse them now.
        for (const std::vector<float> * xs : {&p.w, &p.b, &p.u}) {
            for (float x : *xs) {
                if (!std::isfinite(x)) {
                    throw std::invalid_argument("block " + std::to_string(il) +
                                                ": the steering parameters overflow float32 (scale * vector, or a clamp bound, is too large)");
                }
            }
        }
        max_units = std::max(max_units, p.n_units);
        plan.blocks.emplace(il, std::move(p));
    }
    plan.n_units = unit_capacity(max_units);
    for (auto & [il, p] : plan.blocks) pad_block(p, plan.n_units, n_embd);
    return plan;
}

}  // namespace ps
