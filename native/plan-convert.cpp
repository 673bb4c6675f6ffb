#include "plan-convert.h"

#include "convert.h"
#include "errors.h"

#include <cmath>
#include <stdexcept>

namespace ps {

std::shared_ptr<const SteerPlan> read_plan(Napi::Env env, Napi::Value v, int32_t n_embd, int32_t n_layer) {
    if (!v.IsObject()) throw_error(env, codes::INVALID_ARG, "plan must be an object");
    Napi::Object o = v.As<Napi::Object>();
    auto plan = std::make_shared<SteerPlan>();
    const std::string where = get_string(env, o, "positions", "all");
    if (where == "all") plan->positions = SteerPositions::All;
    else if (where == "prompt") plan->positions = SteerPositions::Prompt;
    else if (where == "generated") plan->positions = SteerPositions::Generated;
    else throw_error(env, codes::INVALID_ARG, "positions must be 'all', 'prompt' or 'generated'; received \"" + where + "\"");

    Napi::Value opsv = o.Get("ops");
    if (!opsv.IsArray()) throw_error(env, codes::INVALID_ARG, "plan.ops must be an array");
    Napi::Array arr = opsv.As<Napi::Array>();
    std::vector<PlanOp> ops;
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Object e = arr.Get(i).As<Napi::Object>();
        PlanOp op;
        const std::string kind = get_string(env, e, "kind", "");
        if (kind == "add") op.kind = OpKind::Add;
        else if (kind == "clamp") op.kind = OpKind::Clamp;
        else throw_error(env, codes::INVALID_ARG, "plan.ops[" + std::to_string(i) + "].kind must be 'add' or 'clamp'");
        op.blocks = read_int_list(env, e.Get("blocks"), "blocks");
        std::vector<float> flat = read_floats(env, e.Get("vectors"), "vectors");
        if (flat.size() != op.blocks.size() * (size_t) n_embd) {
            throw_error(env, codes::INVALID_ARG, "plan.ops[" + std::to_string(i) + "].vectors must hold blocks.length * n_embd = " +
                        std::to_string(op.blocks.size() * (size_t) n_embd) + " floats; received " + std::to_string(flat.size()));
        }
        for (size_t b = 0; b < op.blocks.size(); b++) {
            op.vectors.emplace_back(flat.begin() + b * n_embd, flat.begin() + (b + 1) * n_embd);
        }
        op.scale = (float) get_number(env, e, "scale", 1.0);
        Napi::Value mn = e.Get("min"), mx = e.Get("max");
        op.has_min = mn.IsNumber();
        op.has_max = mx.IsNumber();
        if (op.has_min) op.min = (float) mn.As<Napi::Number>().DoubleValue();
        if (op.has_max) op.max = (float) mx.As<Napi::Number>().DoubleValue();
        ops.push_back(std::move(op));
    }
    try {
        plan->compiled = compile_plan(ops, n_embd, n_layer);
    } catch (const std::invalid_argument & e) {
        throw_error(env, codes::INVALID_ARG, std::string("plan.ops: ") + e.what());
    }
    return plan;
}

MonitorSpec read_monitor(Napi::Env env, Napi::Value v, int32_t n_embd, int32_t n_layer) {
    MonitorSpec spec;
    if (v.IsNull() || v.IsUndefined()) return spec;
    if (!v.IsObject()) throw_error(env, codes::INVALID_ARG, "monitor must be an object or null");
    Napi::Object o = v.As<Napi::Object>();
    spec.n_dirs = get_int(env, o, "nDirs", 0);
    if (spec.n_dirs <= 0 || spec.n_dirs > 4096) throw_error(env, codes::INVALID_ARG, "monitor.nDirs must be in [1, 4096]");
    Napi::Array arr = o.Get("blocks").As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Object e = arr.Get(i).As<Napi::Object>();
        const int32_t il = get_int(env, e, "block", -1);
        if (il < 0 || il >= n_layer) {
            throw_error(env, codes::INVALID_ARG, "monitor block must be in [0, " + std::to_string(n_layer) + "); received " + std::to_string(il));
        }
        if (spec.dirs.count(il)) throw_error(env, codes::INVALID_ARG, "monitor block " + std::to_string(il) + " is listed twice");
        std::vector<float> d = read_floats(env, e.Get("directions"), "monitor directions");
        if (d.size() != (size_t) spec.n_dirs * n_embd) {
            throw_error(env, codes::INVALID_ARG, "monitor directions for block " + std::to_string(il) + " must hold nDirs * n_embd floats");
        }
        for (int32_t k = 0; k < spec.n_dirs; k++) {
            double norm = 0;
            for (int32_t j = 0; j < n_embd; j++) {
                const float x = d[(size_t) k * n_embd + j];
                if (!std::isfinite(x)) throw_error(env, codes::INVALID_ARG, "monitor directions must be finite");
                norm += (double) x * x;
            }
            norm = std::sqrt(norm);
            if (norm == 0) throw_error(env, codes::INVALID_ARG, "monitor direction " + std::to_string(k) + " for block " + std::to_string(il) + " has zero length");
            for (int32_t j = 0; j < n_embd; j++) d[(size_t) k * n_embd + j] = (float) (d[(size_t) k * n_embd + j] / norm);
        }
        spec.blocks.push_back(il);
        spec.dirs.emplace(il, std::move(d));
    }
    return spec;
}

}  // namespace ps
