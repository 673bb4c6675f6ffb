#include "context.h"

#include "backend.h"
#include "batch-decode.h"
#include "convert.h"
#include "errors.h"
#include "generation-bridge.h"
#include "hook-coverage.h"
#include "js-op.h"
#include "llama-steer.h"
#include "model.h"
#include "plan-convert.h"

#include <algorithm>
#include <cstring>

namespace ps {

namespace {

Napi::Float32Array to_f32(Napi::Env env, const std::vector<float> & v) {
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
    return a;
}

Napi::Int32Array to_i32(Napi::Env env, const std::vector<int32_t> & v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(int32_t));
    return a;
}

Napi::Array rows_to_js(Napi::Env env, const std::map<int32_t, BlockRows> & m) {
    Napi::Array out = Napi::Array::New(env, m.size());
    uint32_t i = 0;
    for (const auto & [il, r] : m) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("block", il);
        o.Set("rows", to_f32(env, r.rows));
        o.Set("pos", to_i32(env, r.pos));
        o.Set("seq", to_i32(env, r.seq));
        out.Set(i++, o);
    }
    return out;
}

struct EvalResult {
    std::vector<float> logits;   // [n_outputs][n_vocab]
    int32_t n_outputs = 0;
    std::map<int32_t, BlockRows> captured, monitored;
    uint64_t graph_builds = 0;
};

struct ContextInit {
    uint32_t n_ctx = 0, n_batch = 0;
    int64_t bytes = 0;
};

}  // namespace

Napi::Function ContextWrap::define(Napi::Env env) {
    return DefineClass(env, "NativeContext", {
        InstanceMethod<&ContextWrap::evaluate>("evaluate"),
        InstanceMethod<&ContextWrap::generate>("generate"),
        InstanceMethod<&ContextWrap::clear>("clear"),
        InstanceMethod<&ContextWrap::set_steering>("setSteering"),
        InstanceMethod<&ContextWrap::configure_steering>("setMonitor"),
        InstanceMethod<&ContextWrap::read_reduction>("readReduction"),
        InstanceMethod<&ContextWrap::stats>("stats"),
        InstanceMethod<&ContextWrap::set_control_vector>("setControlVector"),
        InstanceMethod<&ContextWrap::dispose>("dispose"),
        InstanceMethod<&ContextWrap::info>("info"),
    });
}

// createContext(model, { contextSize, batchSize, threads, seqMax }) → Promise<NativeContext>
Napi::Value ContextWrap::create(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object model_obj = info[0].As<Napi::Object>();
    Napi::Object opts = info[1].As<Napi::Object>();
    Napi::Object obj = EnvState::get(env).context_ctor.New({model_obj});
    ContextWrap * self = ContextWrap::Unwrap(obj);

    llama_context_params params = llama_context_default_params();
    params.n_ctx = (uint32_t) get_int(env, opts, "contextSize", 2048);
    params.n_batch = (uint32_t) get_int(env, opts, "batchSize", 512);
    // One ubatch per decode call keeps captured rows in batch order and results per call simple.
    params.n_ubatch = params.n_batch;
    params.n_seq_max = (uint32_t) get_int(env, opts, "sequences", 1);
    params.n_threads = get_int(env, opts, "threads", 0);
    params.n_threads_batch = params.n_threads;
    params.no_perf = false;
    // A unified cache only when sequences share it: with it llama.cpp validates every batch against
    // all 256 possible sequences, a fixed cost per decode that dominates small models.
    params.kv_unified = params.n_seq_max > 1;
    if (params.n_threads <= 0) {
        params.n_threads = (int32_t) std::max(1u, std::thread::hardware_concurrency());
        params.n_threads_batch = params.n_threads;
    }
    const bool flash = get_bool(env, opts, "flashAttention", false);
    params.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    self->n_threads_ = (uint32_t) params.n_threads;

    llama_model * model = self->model_->model;
    return run_on_thread<ContextInit>(env, *self->thread_, obj,
        [self, model, params]() {
            llama_context * ctx = llama_init_from_model(model, params);
            if (ctx == nullptr) {
                std::string why = take_last_llama_error();
                throw CodedError("ERR_CONTEXT_CREATE", "could not create a context" + (why.empty() ? std::string() : ": " + why));
            }
            self->ctx_ = ctx;
            self->steer_ = std::make_unique<SteerSession>(ctx, llama_model_n_embd(model), llama_model_n_layer(model));
            self->hooks_ = HookCoverage::of(ctx);
            // What a context costs beyond its model: the KV cache (K and V in F16 for every block)
            // and about 1 MB of graph buffers and thread, so V8 feels contexts left to the GC.
            const int64_t n_head = std::max<int64_t>(1, llama_model_n_head(model));
            const int64_t n_embd_kv = (int64_t) llama_model_n_embd(model) * llama_model_n_head_kv(model) / n_head;
            const int64_t bytes = (int64_t) llama_n_ctx(ctx) * llama_model_n_layer(model) * 2 * n_embd_kv * 2 + (1 << 20);
            return ContextInit{llama_n_ctx(ctx), llama_n_batch(ctx), bytes};
        },
        [self, obj_ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(obj))](Napi::Env env, ContextInit & r) -> Napi::Value {
            self->n_ctx_ = r.n_ctx;
            self->n_batch_ = r.n_batch;
            self->external_bytes_ = r.bytes;
            Napi::MemoryManagement::AdjustExternalMemory(env, self->external_bytes_);
            Napi::Value v = obj_ref->Value();
            obj_ref->Reset();
            return v;
        });
}

ContextWrap::ContextWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ContextWrap>(info), env_(info.Env()) {
    if (info.Length() != 1 || !info[0].IsObject()) {
        throw_error(info.Env(), "ERR_INVALID_ARG", "NativeContext cannot be constructed directly; use createContext()");
    }
    Napi::Object model_obj = info[0].As<Napi::Object>();
    ModelWrap * mw = ModelWrap::Unwrap(model_obj);
    model_ = mw->handle(info.Env());
    model_ref_ = Napi::Persistent(model_obj);
    thread_ = std::make_unique<TaskThread>();
    gen_abort_ = std::make_shared<std::atomic<bool>>(false);
    EnvState::get(env_).add(this);
}

ContextWrap::~ContextWrap() {
    if (!EnvState::get(env_).closing()) EnvState::get(env_).remove(this);
    teardown();
}

void ContextWrap::rethrow_deferred() {
    if (deferred_error_) {
        CodedError e = *deferred_error_;
        deferred_error_.reset();
        throw e;
    }
}

void ContextWrap::teardown() {
    disposed_ = true;
    closing_ = true;
    *gen_abort_ = true;
    if (thread_) {
        thread_->stop();  // in-flight work ends within one token, then the thread is joined
        thread_.reset();
    }
    steer_.reset();
    if (ctx_ != nullptr) {
        llama_free(ctx_);
        ctx_ = nullptr;
    }
    model_.reset();
    if (!EnvState::get(env_).closing()) {
        if (external_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env_, -external_bytes_);
        if (!model_ref_.IsEmpty()) model_ref_.Reset();
    }
    external_bytes_ = 0;
}

void ContextWrap::require_hooked(Napi::Env env, const std::vector<int32_t> & blocks, const char * what) const {
    try {
        hooks_.require(blocks, what);
    } catch (const CodedError & e) {
        throw_error(env, e.code, e.what());
    }
}

void ContextWrap::check_live(Napi::Env env) const {
    if (disposed_) throw_error(env, "ERR_DISPOSED", "the context was disposed");
}

Napi::Value ContextWrap::info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("contextSize", n_ctx_);
    o.Set("batchSize", n_batch_);
    o.Set("threads", n_threads_);
    return o;
}

// evaluate({ sequences, clear, logits: 'none'|'last'|'all', capture?: { rows, reduce, ranges?, resetReduce } })
Napi::Value ContextWrap::evaluate(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object req = info[0].As<Napi::Object>();
    std::vector<SeqTokens> seqs = read_sequences(env, req.Get("sequences"));
    const bool clear_first = get_bool(env, req, "clear", true);
    const std::string want_logits = get_string(env, req, "logits", "last");
    CaptureSpec cap;
    bool set_ranges = false, reset_reduce = false;
    std::vector<int32_t> r_seq, r_p0, r_p1;
    Napi::Value capv = req.Get("capture");
    if (capv.IsObject()) {
        Napi::Object c = capv.As<Napi::Object>();
        cap.rows = read_int_list(env, c.Get("rows"), "capture.rows");
        cap.reduce = read_int_list(env, c.Get("reduce"), "capture.reduce");
        reset_reduce = get_bool(env, c, "resetReduce", false);
        Napi::Value rr = c.Get("ranges");
        if (rr.IsObject()) {
            Napi::Object ro = rr.As<Napi::Object>();
            r_seq = read_int_list(env, ro.Get("seq"), "ranges.seq");
            r_p0 = read_int_list(env, ro.Get("p0"), "ranges.p0");
            r_p1 = read_int_list(env, ro.Get("p1"), "ranges.p1");
            if (r_seq.size() != r_p0.size() || r_seq.size() != r_p1.size()) {
                throw_error(env, "ERR_INVALID_ARG", "ranges.seq, ranges.p0 and ranges.p1 must have the same length");
            }
            set_ranges = true;
        }
    }
    return run_on_thread<EvalResult>(env, *thread_, Value(),
        [this, seqs, clear_first, want_logits, cap, set_ranges, reset_reduce, r_seq, r_p0, r_p1]() {
            EvalResult r;
            rethrow_deferred();
            steer_->set_capture(cap);
            if (set_ranges) steer_->set_reduce_ranges(r_seq, r_p0, r_p1);
            if (reset_reduce) steer_->reduce_reset();
            steer_->clear_results();
            steer_->enter_phase(Phase::Prompt);
            if (clear_first) llama_memory_clear(llama_get_memory(ctx_), true);
            const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model_->model));
            std::vector<SeqTokens> todo = seqs;
            if (want_logits == "all") {
                for (auto & s : todo) s.logits.assign(s.tokens.size(), 1);
            } else if (want_logits == "none") {
                for (auto & s : todo) if (s.logits.empty()) s.logits.assign(s.tokens.size(), 0);
            }
            try {
                decode_sequences(ctx_, todo, [&](const llama_batch & b) {
                    steer_->after_decode();
                    if (want_logits == "none") return;
                    // llama_get_logits_ith takes the token's index in the batch.
                    for (int32_t i = 0; i < b.n_tokens; i++) {
                        if (!b.logits[i]) continue;
                        const float * lg = llama_get_logits_ith(ctx_, i);
                        if (lg == nullptr) throw CodedError("ERR_NATIVE", "no logits for batch token " + std::to_string(i));
                        r.logits.insert(r.logits.end(), lg, lg + n_vocab);
                        r.n_outputs++;
                    }
                }, [this] { return closing_.load(); });
            } catch (const CodedError & e) {
                // The only abort here is dispose(): say so (ERR_ABORTED means an AbortSignal).
                if (e.code == "ERR_ABORTED") throw CodedError("ERR_DISPOSED", "the context was disposed during the operation");
                throw;
            }
            r.captured = steer_->captured();
            r.monitored = steer_->monitored();
            steer_->clear_results();
            r.graph_builds = steer_->n_builds();
            return r;
        },
        [](Napi::Env env, EvalResult & r) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("logits", to_f32(env, r.logits));
            o.Set("outputs", r.n_outputs);
            o.Set("captures", rows_to_js(env, r.captured));
            o.Set("monitor", rows_to_js(env, r.monitored));
            o.Set("graphBuilds", (double) r.graph_builds);
            return o;
        });
}

// generate({ tokens, maxTokens, sampling, stopAtEog, capture? }, onToken(token, bytes, monitor)) → { promise, abort }
Napi::Value ContextWrap::generate(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object req = info[0].As<Napi::Object>();
    GenerateRequest g;
    g.prompt = read_int_list(env, req.Get("tokens"), "tokens");
    g.max_tokens = get_int(env, req, "maxTokens", 256);
    g.sampling = read_sampling(env, req.Get("sampling"));
    g.stop_at_eog = get_bool(env, req, "stopAtEog", true);
    CaptureSpec cap;
    Napi::Value capv = req.Get("capture");
    if (capv.IsObject()) cap.rows = read_int_list(env, capv.As<Napi::Object>().Get("rows"), "capture.rows");
    g.prompt_outputs = std::find(cap.rows.begin(), cap.rows.end(), llama_model_n_layer(model_->model) - 1) != cap.rows.end();
    auto on_token = std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[1].As<Napi::Function>()));

    // A fresh flag per generation: an abort of an earlier one must not leak into this one.
    auto abort = std::make_shared<std::atomic<bool>>(false);
    gen_abort_ = abort;
    EnvState * st = &EnvState::get(env);
    Napi::Promise promise = run_on_thread<GenerationResult>(env, *thread_, Value(),
        [this, g, cap, abort, on_token, st]() {
            rethrow_deferred();
            steer_->set_capture(cap);
            steer_->clear_results();
            GenerationBridge bridge(st, *steer_, abort, on_token, &closing_);
            GenerationResult r;
            r.summary = run_generation(ctx_, g, bridge);
            bridge.flush();   // every token reaches JavaScript before the result does
            r.captured = steer_->captured();
            r.prompt_monitor = std::move(bridge.prompt_monitor);
            steer_->clear_results();
            r.graph_builds = steer_->n_builds();
            return r;
        },
        [on_token](Napi::Env env, GenerationResult & r) -> Napi::Value {
            on_token->Reset();
            Napi::Object o = Napi::Object::New(env);
            o.Set("stopReason", r.summary.stop_reason);
            o.Set("promptTokens", r.summary.n_prompt);
            o.Set("generatedTokens", r.summary.n_generated);
            o.Set("promptMs", r.summary.prompt_ms);
            o.Set("generateMs", r.summary.generate_ms);
            o.Set("captures", rows_to_js(env, r.captured));
            o.Set("promptMonitor", rows_to_js(env, r.prompt_monitor));
            o.Set("graphBuilds", (double) r.graph_builds);
            return o;
        });
    Napi::Object out = Napi::Object::New(env);
    out.Set("promise", promise);
    out.Set("abort", Napi::Function::New(env, [abort](const Napi::CallbackInfo & ci) {
        *abort = true;
        return ci.Env().Undefined();
    }));
    return out;
}

// setSteering(plan | null): compiled here so bad input throws at the call; applied on the context
// thread before its next decode (the next token of a running generation).
Napi::Value ContextWrap::set_steering(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    const llama_model * m = model_->model;
    std::shared_ptr<const SteerPlan> plan;
    if (!info[0].IsNull() && !info[0].IsUndefined()) {
        plan = read_plan(env, info[0], llama_model_n_embd(m), llama_model_n_layer(m));
        if (plan->compiled.n_units > 0) {
            std::vector<int32_t> blocks;
            for (const auto & kv : plan->compiled.blocks) blocks.push_back(kv.first);
            require_hooked(env, blocks, "setSteering");
        }
    }
    // The mailbox lets a running generation pick the plan up before its next token; the task
    // applies it when the context is idle. Whichever runs first takes it.
    SteerSession * s = steer_.get();
    s->post_plan(std::move(plan));
    thread_->post([s, this] {
        try {
            s->take_posted_plan();
        } catch (const CodedError & e) {
            deferred_error_ = std::make_unique<CodedError>(e);
        }
    });
    return env.Undefined();
}

// setMonitor({ nDirs, blocks: [{ block, directions: Float32Array }] } | null)
Napi::Value ContextWrap::configure_steering(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    MonitorSpec spec = read_monitor(env, info[0], llama_model_n_embd(model_->model), llama_model_n_layer(model_->model));
    return run_on_thread<int>(env, *thread_, Value(),
        [this, spec]() { steer_->set_monitor(spec); return 0; },
        [](Napi::Env env, int &) -> Napi::Value { return env.Undefined(); });
}

// readReduction(blocks: Int32Array) → Promise<[{ block, sum: Float32Array, count }]>
Napi::Value ContextWrap::read_reduction(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    std::vector<int32_t> blocks = read_int_list(env, info[0], "blocks");
    struct Out { std::vector<std::pair<std::vector<float>, int64_t>> sums; };
    return run_on_thread<Out>(env, *thread_, Value(),
        [this, blocks]() {
            Out o;
            for (int32_t il : blocks) {
                int64_t n = 0;
                std::vector<float> s = steer_->reduce_sum(il, n);
                o.sums.emplace_back(std::move(s), n);
            }
            return o;
        },
        [blocks](Napi::Env env, Out & o) -> Napi::Value {
            Napi::Array arr = Napi::Array::New(env, blocks.size());
            for (size_t i = 0; i < blocks.size(); i++) {
                Napi::Object e = Napi::Object::New(env);
                e.Set("block", blocks[i]);
                e.Set("sum", o.sums[i].first.empty() ? env.Null() : Napi::Value(to_f32(env, o.sums[i].first)));
                e.Set("count", (double) o.sums[i].second);
                arr.Set((uint32_t) i, e);
            }
            return arr;
        });
}

// setControlVector(data: Float32Array [n_layer * n_embd] indexed by block, or null, ilStart, ilEnd) → Promise
// llama.cpp's stock control vector (llama_set_adapter_cvec), for interop and as an independent
// reference: it starts at block 1 and rebuilds the graph on every call.
Napi::Value ContextWrap::set_control_vector(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    const int32_t n_embd = llama_model_n_embd(model_->model);
    const int32_t n_layer = llama_model_n_layer(model_->model);
    std::vector<float> data;
    const bool clear_it = info[0].IsNull() || info[0].IsUndefined();
    if (!clear_it) {
        data = read_floats(env, info[0], "data");
        if (data.size() != (size_t) n_layer * n_embd) throw_error(env, "ERR_INVALID_ARG", "data must hold n_layer * n_embd floats");
    }
    const int32_t il_start = clear_it ? 0 : info[1].As<Napi::Number>().Int32Value();
    const int32_t il_end = clear_it ? 0 : info[2].As<Napi::Number>().Int32Value();
    std::vector<int32_t> touched;  // blocks the control vector changes
    for (int32_t il = std::max(il_start, 0); !clear_it && il <= il_end && il < n_layer; il++) {
        const float * row = data.data() + (size_t) il * n_embd;
        if (std::any_of(row, row + n_embd, [](float x) { return x != 0.0f; })) touched.push_back(il);
    }
    require_hooked(env, touched, "setLlamaControlVector");
    return run_on_thread<int>(env, *thread_, Value(),
        [this, data, n_embd, il_start, il_end, clear_it]() {
            // llama.cpp's layout starts at block 1: row il-1 is block il.
            const float * p = clear_it ? nullptr : data.data() + n_embd;
            const size_t len = clear_it ? 0 : data.size() - (size_t) n_embd;
            if (llama_set_adapter_cvec(ctx_, p, len, n_embd, il_start, il_end) != 0) {
                throw CodedError("ERR_INVALID_ARG", "llama_set_adapter_cvec rejected the control vector");
            }
            return 0;
        },
        [](Napi::Env env, int &) -> Napi::Value { return env.Undefined(); });
}

Napi::Value ContextWrap::clear(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    return run_on_thread<int>(env, *thread_, Value(),
        [this]() { llama_memory_clear(llama_get_memory(ctx_), true); return 0; },
        [](Napi::Env env, int &) -> Napi::Value { return env.Undefined(); });
}

// stats() → Promise<{ graphBuilds, configures, evalCount, reusedGraphs }>
Napi::Value ContextWrap::stats(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    struct S { uint64_t builds, configures; int32_t n_eval, n_reused; };
    return run_on_thread<S>(env, *thread_, Value(),
        [this]() {
            llama_perf_context_data p = llama_perf_context(ctx_);
            return S{steer_->n_builds(), steer_->n_configures(), p.n_eval, p.n_reused};
        },
        [](Napi::Env env, S & s) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("graphBuilds", (double) s.builds);
            o.Set("configures", (double) s.configures);
            o.Set("evalCount", s.n_eval);
            o.Set("reusedGraphs", s.n_reused);
            return o;
        });
}

// dispose() → Promise<void>: aborts a running generation, waits for queued work, frees.
Napi::Value ContextWrap::dispose(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (disposed_ || !thread_) {
        // Created only here: a deferred that is never settled pins its promise (and a handle) forever.
        auto deferred = Napi::Promise::Deferred::New(env);
        deferred.Resolve(env.Undefined());
        return deferred.Promise();
    }
    disposed_ = true;
    closing_ = true;
    *gen_abort_ = true;
    return run_on_thread<int>(env, *thread_, Value(),
        [this]() {
            steer_.reset();
            llama_free(ctx_);
            ctx_ = nullptr;
            return 0;
        },
        [this](Napi::Env env, int &) -> Napi::Value {
            thread_->stop();  // the queue is empty: returns at once
            thread_.reset();
            model_.reset();
            if (!model_ref_.IsEmpty()) model_ref_.Reset();
            if (external_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
            external_bytes_ = 0;
            return env.Undefined();
        });
}

}  // namespace ps
