// Module entry: the whole native surface. lib/native.ts describes it in TypeScript and is the
// only file that loads this addon.
#include <napi.h>

#include "backend.h"
#include "context.h"
#include "env-state.h"
#include "model-loader.h"
#include "model.h"
#include "js-rows.h"
#include "plan-convert.h"
#include "rpc-js.h"
#include "steer-math/slot-layout.h"

#include "llama.h"

namespace ps {

namespace {

Napi::Value system_info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const BackendsInfo bi = backends_info();   // loads the backends first in a dynamic build
    Napi::Object o = Napi::Object::New(env);
    o.Set("llamaSystemInfo", llama_print_system_info());
    // llama_supports_gpu_offload() is also true when only the RPC backend is loaded: report GPUs.
    o.Set("supportsGpuOffload", ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU) != nullptr ||
                                ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_IGPU) != nullptr);
    o.Set("supportsMmap", llama_supports_mmap());
    Napi::Array devs = Napi::Array::New(env);
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        Napi::Object e = Napi::Object::New(env);
        e.Set("name", ggml_backend_dev_name(d));
        e.Set("description", ggml_backend_dev_description(d));
        devs.Set((uint32_t) i, e);
    }
    o.Set("devices", devs);
    // Which libraries ggml loaded, and the CPU variant it chose (native/backend.cpp).
    o.Set("dynamicBackends", bi.dynamic);
    o.Set("addonPath", bi.addon_path);
    o.Set("backendDir", bi.dynamic ? Napi::Value(Napi::String::New(env, bi.backend_dir)) : env.Null());
    Napi::Array backends = Napi::Array::New(env);
    uint32_t k = 0;
    for (const BackendInfo & b : bi.backends) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("name", b.name);
        e.Set("library", b.library.empty() ? env.Null() : Napi::Value(Napi::String::New(env, b.library)));
        e.Set("variant", b.variant.empty() ? env.Null() : Napi::Value(Napi::String::New(env, b.variant)));
        Napi::Object feats = Napi::Object::New(env);
        for (const auto & [name, value] : b.features) feats.Set(name, value);
        e.Set("features", feats);
        backends.Set(k++, e);
    }
    o.Set("backends", backends);
    return o;
}

Napi::Object block_params_js(Napi::Env env, int32_t il, const BlockParams & p) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("block", il);
    e.Set("add", to_f32(env, p.add));
    Napi::Array clamps = Napi::Array::New(env, p.clamps.size());
    for (size_t k = 0; k < p.clamps.size(); k++) {
        Napi::Object c = Napi::Object::New(env);
        c.Set("unit", to_f32(env, p.clamps[k].unit));
        c.Set("lo", p.clamps[k].lo);
        c.Set("hi", p.clamps[k].hi);
        clamps.Set((uint32_t) k, c);
    }
    e.Set("clamps", clamps);
    return e;
}

// compilePlan(plan, embeddingSize, blockCount) → { blocks: [{ block, add, clamps: [{ unit, lo, hi }] }] }: what
// the hook will be given, exposed so tests can check it against a TypeScript oracle.
Napi::Value compile_plan_js(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const int32_t n_embd = info[1].As<Napi::Number>().Int32Value();
    const int32_t n_layer = info[2].As<Napi::Number>().Int32Value();
    auto plan = read_plan(env, info[0], n_embd, n_layer);
    Napi::Object o = Napi::Object::New(env);
    Napi::Array blocks = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto & [il, p] : plan->compiled.blocks) blocks.Set(i++, block_params_js(env, il, p));
    o.Set("blocks", blocks);
    return o;
}

// layoutSlots([{ slot, plan }], embeddingSize, blockCount) → { nDirs, blocks: [{ block, dirs, slots: [{ slot, c, lo, hi }] }] }:
// the shared directions and per-slot values the per-sequence hook gets, for the TypeScript oracle.
Napi::Value layout_slots_js(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const int32_t n_embd = info[1].As<Napi::Number>().Int32Value();
    const int32_t n_layer = info[2].As<Napi::Number>().Int32Value();
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::shared_ptr<const SteerPlan>> keep;
    std::vector<SlotPlan> plans;
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Object e = arr.Get(i).As<Napi::Object>();
        keep.push_back(read_plan(env, e.Get("plan"), n_embd, n_layer));
        plans.push_back({e.Get("slot").As<Napi::Number>().Int32Value(), &keep.back()->compiled});
    }
    const int32_t n_dirs = dir_capacity(slot_rows_needed(plans));
    SlotLayout layout = layout_slots(plans, n_embd, n_dirs);
    Napi::Object o = Napi::Object::New(env);
    o.Set("nDirs", n_dirs);
    Napi::Array blocks = Napi::Array::New(env);
    uint32_t bi = 0;
    for (const auto & [il, t] : layout.blocks) {
        Napi::Object b = Napi::Object::New(env);
        b.Set("block", il);
        b.Set("dirs", to_f32(env, t.dirs));
        Napi::Array slots = Napi::Array::New(env);
        uint32_t si = 0;
        for (const auto & [slot, v] : t.slots) {
            Napi::Object so = Napi::Object::New(env);
            so.Set("slot", slot);
            so.Set("c", to_f32(env, v.c));
            so.Set("lo", to_f32(env, v.lo));
            so.Set("hi", to_f32(env, v.hi));
            slots.Set(si++, so);
        }
        b.Set("slots", slots);
        blocks.Set(bi++, b);
    }
    o.Set("blocks", blocks);
    return o;
}

// shutdown(): called from process 'exit' (lib/native.ts). Stops and frees every context and load
// of this environment before process.exit() reaches the C++ static destructors.
Napi::Value shutdown(const Napi::CallbackInfo & info) {
    EnvState::get(info.Env()).teardown_all();
    return info.Env().Undefined();
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
    EnvState::install(env);
    EnvState & st = EnvState::get(env);
    Napi::Function model_ctor = ModelWrap::define(env);
    Napi::Function context_ctor = ContextWrap::define(env);
    st.model_ctor = Napi::Persistent(model_ctor);
    st.context_ctor = Napi::Persistent(context_ctor);
    exports.Set("NativeModel", model_ctor);
    exports.Set("NativeContext", context_ctor);
    exports.Set("loadModel", Napi::Function::New(env, load_model, "loadModel"));
    exports.Set("createContext", Napi::Function::New(env, ContextWrap::create, "createContext"));
    exports.Set("systemInfo", Napi::Function::New(env, system_info, "systemInfo"));
    exports.Set("compilePlan", Napi::Function::New(env, compile_plan_js, "compilePlan"));
    exports.Set("layoutSlots", Napi::Function::New(env, layout_slots_js, "layoutSlots"));
    exports.Set("shutdown", Napi::Function::New(env, shutdown, "shutdown"));
    rpc_exports(env, exports);
    exports.Set("llamaCppVersion", Napi::String::New(env, PERSONA_STEER_LLAMA_COMMIT));
    return exports;
}

}  // namespace ps

static Napi::Object InitPersonaSteer(Napi::Env env, Napi::Object exports) { return ps::init(env, exports); }

NODE_API_MODULE(persona_steer, InitPersonaSteer)
