#include "plan.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ps {

namespace {

struct BlockAccum {
    std::vector<double> add;   // double: a sum of many scaled vectors should not lose bits needlessly
    std::vector<BlockClamp> clamps;
};

void check_finite(const std::vector<float> & v, const std::string & what) {
    for (size_t i = 0; i < v.size(); i++) {
        if (!std::isfinite(v[i])) throw std::invalid_argument(what + "[" + std::to_string(i) + "] is not finite");
    }
}

constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

int32_t CompiledPlan::max_clamps() const {
    size_t n = 0;
    for (const auto & kv : blocks) n = std::max(n, kv.second.clamps.size());
    return (int32_t) n;
}

int32_t dir_capacity(int32_t needed) {
    if (needed <= 0) return 0;
    return (needed + 3) / 4 * 4;
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
            } else {
                double norm = 0;
                for (float x : v) norm += (double) x * x;
                norm = std::sqrt(norm);
                if (norm == 0) throw std::invalid_argument(where + ": the direction for block " + std::to_string(il) + " has zero length");
                if (!op.has_min && !op.has_max) continue;  // an unbounded clamp does nothing
                BlockClamp c{std::vector<float>((size_t) n_embd), op.has_min ? op.min : -kInf, op.has_max ? op.max : kInf};
                for (int32_t k = 0; k < n_embd; k++) c.unit[k] = (float) (v[k] / norm);
                a.clamps.push_back(std::move(c));
            }
        }
    }

    CompiledPlan plan;
    plan.n_embd = n_embd;
    for (auto & [il, a] : acc) {
        BlockParams p;
        p.add.assign((size_t) n_embd, 0.0f);
        double squares = 0;
        for (size_t k = 0; k < a.add.size(); k++) {
            p.add[k] = (float) a.add[k];
            squares += a.add[k] * a.add[k];
            // Finite inputs can still overflow float32 here (a huge scale, several adds summed); the
            // graph refuses non-finite values, so refuse them now.
            if (!std::isfinite(p.add[k])) {
                throw std::invalid_argument("block " + std::to_string(il) +
                                            ": the steering parameters overflow float32 (scale * vector is too large)");
            }
        }
        // The next normalization squares the residual: an addition whose squared norm overflows
        // float32 turns every later logit into NaN.
        if (!(squares <= 3.4028234663852886e38)) {
            throw std::invalid_argument("block " + std::to_string(il) +
                                        ": the steering parameters overflow float32 (scale * vector is too large: its squared norm exceeds float32's range)");
        }
        p.clamps = std::move(a.clamps);
        plan.blocks.emplace(il, std::move(p));
    }
    return plan;
}

}  // namespace ps
