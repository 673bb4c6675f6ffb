#include "context.h"

#include "backend.h"
#include "batch-decode.h"
#include "convert.h"
#include "errors.h"
#include "hook-coverage.h"
#include "job-sink.h"
#include "js-op.h"
#include "js-rows.h"
#include "llama-steer.h"
#include "model.h"
#include "plan-convert.h"
#include "type-tags.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <set>

namespace ps {

namespace {

struct EvalResult {
    std::vector<float> logits;   // [n_outputs][n_vocab]
    int32_t n_outputs = 0;
    std::map<int32_t, BlockRows> captured, monitored;
    std::vector<std::pair<int32_t, std::pair<std::vector<double>, int64_t>>> reductions;
    uint64_t graph_builds = 0;
};

struct ContextInit {
    uint32_t n_ctx = 0, n_batch = 0;
    int64_t bytes = 0;
};

// Whether an operation's tokens are steered by its plan: they count as prompt tokens.
void op_range(const SteerPlan * plan, SeqConfig & cfg) {
    const bool on = plan_active_in(plan, Phase::Prompt);
    cfg.p0 = 0;
    cfg.p1 = on ? INT_MAX : 0;
}

std::shared_ptr<const SteerPlan> plan_arg(Napi::Env env, Napi::Value v, const llama_model * m) {
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    return read_plan(env, v, llama_model_n_embd(m), llama_model_n_layer(m));
}

std::vector<int32_t> plan_blocks(const SteerPlan * plan) {
    std::vector<int32_t> out;
    if (plan) for (const auto & kv : plan->compiled.blocks) out.push_back(kv.first);
    return out;
}

}  // namespace

void Stepper::wake(const std::shared_ptr<Stepper> & self) {
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopped || queued || thread == nullptr) return;
        queued = true;
    }
    const bool posted = thread->post([self] {
        Engine * eng;
        {
            std::lock_guard<std::mutex> lock(self->mutex);
            self->queued = false;
            eng = self->engine;
        }
        if (eng != nullptr && eng->step()) self->wake(self);
    });
    if (!posted) {
        std::lock_guard<std::mutex> lock(mutex);
        queued = false;
    }
}

void Stepper::stop() {
    std::lock_guard<std::mutex> lock(mutex);
    stopped = true;
}

Napi::Function ContextWrap::define(Napi::Env env) {
    return DefineClass(env, "NativeContext", {
        InstanceMethod<&ContextWrap::evaluate>("evaluate"),
        InstanceMethod<&ContextWrap::generate>("generate"),
        InstanceMethod<&ContextWrap::clear_sequence>("clearSequence"),
        InstanceMethod<&ContextWrap::stats>("stats"),
        InstanceMethod<&ContextWrap::set_control_vector>("setControlVector"),
        InstanceMethod<&ContextWrap::dispose>("dispose"),
        InstanceMethod<&ContextWrap::info>("info"),
        InstanceMethod<&ContextWrap::require_hooked_js>("requireHooked"),
    });
}

// createContext(model, { contextSize, batchSize, threads, sequences, flashAttention }) → Promise<NativeContext>
// contextSize is per sequence: a context of n sequences holds n * contextSize cells, so a sequence
// never runs out of room because of the others.
Napi::Value ContextWrap::create(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    unwrap_tagged<ModelWrap>(env, info[0], kModelTag, "model");
    Napi::Object model_obj = info[0].As<Napi::Object>();
    if (!info[1].IsObject()) throw_error(env, "ERR_INVALID_ARG", "options must be an object");
    Napi::Object opts = info[1].As<Napi::Object>();
    Napi::Object obj = EnvState::get(env).context_ctor.New({model_obj});
    ContextWrap * self = ContextWrap::Unwrap(obj);

    llama_context_params params = llama_context_default_params();
    const uint32_t n_seq = (uint32_t) std::max(1, get_int(env, opts, "sequences", 1));
    const uint32_t n_ctx_seq = (uint32_t) get_int(env, opts, "contextSize", 2048);
    params.n_ctx = n_ctx_seq * n_seq;
    params.n_batch = (uint32_t) get_int(env, opts, "batchSize", 512);
    // One ubatch per decode call keeps captured rows in batch order and results per call simple.
    params.n_ubatch = params.n_batch;
    params.n_seq_max = n_seq;
    params.n_threads = get_int(env, opts, "threads", 0);
    params.n_threads_batch = params.n_threads;
    params.no_perf = false;
    // One KV stream per sequence (not unified): each sequence attends over its own contextSize
    // cells only, as llama-batched-bench and llama-server's slots do. llama.cpp then splits a batch
    // by sequence (split_equal); the hook labels rows by (seq, pos) and logits are read by batch index.
    params.kv_unified = false;
    if (params.n_threads <= 0) {
        params.n_threads = (int32_t) std::max(1u, std::thread::hardware_concurrency());
        params.n_threads_batch = params.n_threads;
    }
    const bool flash = get_bool(env, opts, "flashAttention", false);
    params.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    self->n_threads_ = (uint32_t) params.n_threads;
    self->n_seq_ = n_seq;
    self->n_ctx_seq_ = n_ctx_seq;

    llama_model * model = self->model_->model;
    return run_on_thread<ContextInit>(env, *self->thread_, obj,
        [self, model, params, n_seq, n_ctx_seq]() {
            llama_context * ctx = llama_init_from_model(model, params);
            if (ctx == nullptr) {
                std::string why = take_last_llama_error();
                throw CodedError("ERR_CONTEXT_CREATE", "could not create a context" + (why.empty() ? std::string() : ": " + why));
            }
            self->ctx_ = ctx;
            self->steer_ = std::make_unique<SteerSession>(ctx, llama_model_n_embd(model), llama_model_n_layer(model), (int32_t) n_seq);
            self->engine_ = std::make_unique<Engine>(ctx, *self->steer_, (int32_t) n_ctx_seq);
            self->hooks_ = HookCoverage::of(ctx);
            {
                std::lock_guard<std::mutex> lock(self->stepper_->mutex);
                self->stepper_->engine = self->engine_.get();
            }
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
    ModelWrap * mw = unwrap_tagged<ModelWrap>(info.Env(), info[0], kModelTag, "model");
    Napi::Object model_obj = info[0].As<Napi::Object>();
    info.This().As<Napi::Object>().TypeTag(&kContextTag);
    model_ = mw->handle(info.Env());
    model_ref_ = Napi::Persistent(model_obj);
    thread_ = std::make_unique<TaskThread>();
    stepper_ = std::make_shared<Stepper>();
    stepper_->thread = thread_.get();
    EnvState::get(env_).add(this);
}

ContextWrap::~ContextWrap() {
    if (!EnvState::get(env_).closing()) EnvState::get(env_).remove(this);
    teardown();
}

void ContextWrap::free_on_thread() {
    {
        std::lock_guard<std::mutex> lock(stepper_->mutex);
        stepper_->engine = nullptr;
    }
    if (engine_) engine_->abort_all();
    engine_.reset();
    steer_.reset();
    if (ctx_ != nullptr) {
        llama_free(ctx_);
        ctx_ = nullptr;
    }
}

void ContextWrap::teardown() {
    disposed_ = true;
    closing_ = true;
    if (stepper_) stepper_->stop();
    if (thread_) {
        thread_->stop();  // in-flight work ends within one token, then the thread is joined
        thread_.reset();
    }
    free_on_thread();
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

void ContextWrap::require_hooked(Napi::Env env, const SeqConfig & cfg, const std::vector<int32_t> & reduce, const char * what) const {
    const std::string w(what);
    require_hooked(env, plan_blocks(cfg.plan.get()), (w + ": steering").c_str());
    require_hooked(env, cfg.capture, (w + ": capture").c_str());
    require_hooked(env, reduce, (w + ": capture (mean)").c_str());
    require_hooked(env, cfg.monitor.blocks, (w + ": monitor").c_str());
}

// requireHooked(blocks: Int32Array, what: string): ERR_UNSUPPORTED_ARCH naming the blocks the
// graph does not hand to the hook (a plan set as a default is checked when it is set).
Napi::Value ContextWrap::require_hooked_js(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    require_hooked(env, read_int_list(env, info[0], "blocks"), info[1].As<Napi::String>().Utf8Value().c_str());
    return env.Undefined();
}

void ContextWrap::check_live(Napi::Env env) const {
    if (disposed_) throw_error(env, "ERR_DISPOSED", "the context was disposed");
}

Napi::Value ContextWrap::info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("contextSize", n_ctx_seq_);
    o.Set("batchSize", n_batch_);
    o.Set("threads", n_threads_);
    o.Set("sequences", n_seq_);
    return o;
}

// evaluate({ sequences, clear, logits: 'none'|'last'|'all', steer?: plan, monitor?,
//            capture?: { rows, reduce, ranges? } }) → Promise<{ logits, outputs, captures, monitor, reductions, graphBuilds }>
// Runs between the steps of running generations, on the sequences it names only (clear removes
// just their cells). Its plan, monitor and captures end with it.
Napi::Value ContextWrap::evaluate(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object req = info[0].As<Napi::Object>();
    std::vector<SeqTokens> seqs = read_sequences(env, req.Get("sequences"));
    for (const SeqTokens & s : seqs) {
        if (s.seq < 0 || s.seq >= (int32_t) n_seq_) {
            throw_error(env, "ERR_INVALID_ARG", "sequence id " + std::to_string(s.seq) + " is outside [0, " + std::to_string(n_seq_) + ")");
        }
    }
    const bool clear_first = get_bool(env, req, "clear", true);
    const std::string want_logits = get_string(env, req, "logits", "last");
    const llama_model * m = model_->model;
    SeqConfig cfg;
    cfg.plan = plan_arg(env, req.Get("steer"), m);
    op_range(cfg.plan.get(), cfg);
    cfg.monitor = read_monitor(env, req.Get("monitor"), llama_model_n_embd(m), llama_model_n_layer(m));
    std::vector<int32_t> reduce, r_seq, r_p0, r_p1;
    Napi::Value capv = req.Get("capture");
    if (capv.IsObject()) {
        Napi::Object c = capv.As<Napi::Object>();
        cfg.capture = read_int_list(env, c.Get("rows"), "capture.rows");
        reduce = read_int_list(env, c.Get("reduce"), "capture.reduce");
        Napi::Value rr = c.Get("ranges");
        if (rr.IsObject()) {
            Napi::Object ro = rr.As<Napi::Object>();
            r_seq = read_int_list(env, ro.Get("seq"), "ranges.seq");
            r_p0 = read_int_list(env, ro.Get("p0"), "ranges.p0");
            r_p1 = read_int_list(env, ro.Get("p1"), "ranges.p1");
            if (r_seq.size() != r_p0.size() || r_seq.size() != r_p1.size()) {
                throw_error(env, "ERR_INVALID_ARG", "ranges.seq, ranges.p0 and ranges.p1 must have the same length");
            }
        }
    }
    require_hooked(env, cfg, reduce, "evaluate");
    return run_on_thread<EvalResult>(env, *thread_, Value(),
        [this, seqs, clear_first, want_logits, cfg, reduce, r_seq, r_p0, r_p1]() {
            EvalResult r;
            if (closing_) throw CodedError("ERR_DISPOSED", "the context was disposed during the operation");
            std::set<llama_seq_id> ids;
            for (const SeqTokens & s : seqs) ids.insert(s.seq);
            llama_memory_t mem = llama_get_memory(ctx_);
            if (clear_first) for (llama_seq_id s : ids) llama_memory_seq_rm(mem, s, -1, -1);
            const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model_->model));
            std::vector<SeqTokens> todo = seqs;
            if (want_logits == "all") {
                for (auto & s : todo) s.logits.assign(s.tokens.size(), 1);
            } else if (want_logits == "none") {
                for (auto & s : todo) if (s.logits.empty()) s.logits.assign(s.tokens.size(), 0);
            }
            auto cleanup = [&]() {
                for (llama_seq_id s : ids) steer_->clear_seq(s);
                if (!reduce.empty()) steer_->clear_reduce();
            };
            try {
                for (llama_seq_id s : ids) steer_->set_seq(s, cfg);
                if (!reduce.empty()) {
                    steer_->set_reduce(reduce, r_seq, r_p0, r_p1);
                    steer_->reduce_reset();
                }
                if (!steer_->per_seq()) steer_->set_active(plan_active_in(cfg.plan.get(), Phase::Prompt));
                steer_->clear_results();
                decode_sequences(ctx_, todo, [&](const llama_batch & b) {
                    op_decodes_++;
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
                for (int32_t il : cfg.capture) {
                    auto it = steer_->captured().find(il);
                    if (it != steer_->captured().end()) r.captured[il] = it->second;
                }
                // monitor rows hold every sequence's columns: keep this operation's
                const llama_seq_id first = ids.empty() ? 0 : *ids.begin();
                const size_t M = (size_t) steer_->n_monitor();
                for (int32_t il : cfg.monitor.blocks) {
                    auto it = steer_->monitored().find(il);
                    if (it == steer_->monitored().end()) continue;
                    const std::vector<int32_t> & cols = steer_->monitor_columns(first, il);
                    BlockRows & dst = r.monitored[il];
                    dst.pos = it->second.pos;
                    dst.seq = it->second.seq;
                    for (size_t row = 0; row < dst.pos.size(); row++) {
                        for (int32_t c : cols) dst.rows.push_back(it->second.rows[row * M + c]);
                    }
                }
                for (int32_t il : reduce) {
                    int64_t n = 0;
                    std::vector<double> sum = steer_->reduce_sum(il, n);
                    r.reductions.push_back({il, {std::move(sum), n}});
                }
                steer_->clear_results();
                r.graph_builds = steer_->n_builds();
                cleanup();
            } catch (const CodedError & e) {
                try { cleanup(); } catch (...) {}
                for (llama_seq_id s : ids) llama_memory_seq_rm(mem, s, -1, -1);
                // The only abort here is dispose(): say so (ERR_ABORTED means an AbortSignal).
                if (e.code == "ERR_ABORTED") throw CodedError("ERR_DISPOSED", "the context was disposed during the operation");
                throw;
            }
            return r;
        },
        [](Napi::Env env, EvalResult & r) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("logits", to_f32(env, r.logits));
            o.Set("outputs", r.n_outputs);
            o.Set("captures", rows_to_js(env, r.captured));
            o.Set("monitor", rows_to_js(env, r.monitored));
            Napi::Array red = Napi::Array::New(env, r.reductions.size());
            for (size_t i = 0; i < r.reductions.size(); i++) {
                Napi::Object e = Napi::Object::New(env);
                e.Set("block", r.reductions[i].first);
                const auto & [sum, n] = r.reductions[i].second;
                e.Set("sum", sum.empty() ? env.Null() : Napi::Value(to_f64(env, sum)));
                e.Set("count", (double) n);
                red.Set((uint32_t) i, e);
            }
            o.Set("reductions", red);
            o.Set("graphBuilds", (double) r.graph_builds);
            return o;
        });
}

// generate({ seq, tokens, nKeep, retain, maxTokens, sampling, stopAtEog, steer?, monitor?, capture? },
//          onToken(token, bytes, monitor)) → { promise, abort(), setSteering(plan | null) }
// Joins the context's running generations at the next step and advances with them, one
// llama_decode per step for all of them.
Napi::Value ContextWrap::generate(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    Napi::Object req = info[0].As<Napi::Object>();
    const llama_model * m = model_->model;
    GenerateRequest g;
    g.seq = get_int(env, req, "seq", 0);
    if (g.seq < 0 || g.seq >= (int32_t) n_seq_) {
        throw_error(env, "ERR_INVALID_ARG", "sequence id " + std::to_string(g.seq) + " is outside [0, " + std::to_string(n_seq_) + ")");
    }
    g.prompt = read_int_list(env, req.Get("tokens"), "tokens");
    g.n_keep = get_int(env, req, "nKeep", 0);
    g.retain = get_bool(env, req, "retain", false);
    g.max_tokens = get_int(env, req, "maxTokens", 256);
    g.sampling = read_sampling(env, req.Get("sampling"));
    g.stop_at_eog = get_bool(env, req, "stopAtEog", true);
    g.steer.plan = plan_arg(env, req.Get("steer"), m);
    g.steer.monitor = read_monitor(env, req.Get("monitor"), llama_model_n_embd(m), llama_model_n_layer(m));
    Napi::Value capv = req.Get("capture");
    if (capv.IsObject()) g.steer.capture = read_int_list(env, capv.As<Napi::Object>().Get("rows"), "capture.rows");
    require_hooked(env, g.steer, {}, "generate");

    std::shared_ptr<Stepper> stepper = stepper_;
    auto sink = std::make_shared<JsJobSink>(env, info[1].As<Napi::Function>(), Value(), [stepper] { stepper->wake(stepper); }, &closing_);
    // Disposed before it started: it ends as a stopped generation with nothing generated.
    auto never_ran = [](JsJobSink & s, int32_t n_prompt) {
        GenerationResult r;
        r.summary.stop_reason = "abort";
        r.summary.n_prompt = n_prompt;
        s.on_done(std::move(r));
    };
    const int32_t n_prompt = (int32_t) g.prompt.size();
    const bool queued = thread_->post([this, g = std::move(g), sink, stepper, never_ran, n_prompt]() mutable {
        if (!engine_ || closing_) {
            never_ran(*sink, n_prompt);
            return;
        }
        engine_->add(std::move(g), sink);
        stepper->wake(stepper);
    });
    if (!queued) never_ran(*sink, n_prompt);

    Napi::Object out = Napi::Object::New(env);
    out.Set("promise", sink->promise());
    out.Set("abort", Napi::Function::New(env, [sink](const Napi::CallbackInfo & ci) {
        sink->abort();
        return ci.Env().Undefined();
    }));
    const int32_t n_embd = llama_model_n_embd(m), n_layer = llama_model_n_layer(m);
    out.Set("setSteering", Napi::Function::New(env, [sink, n_embd, n_layer, hooks = hooks_](const Napi::CallbackInfo & ci) {
        Napi::Env e = ci.Env();
        std::shared_ptr<const SteerPlan> plan;
        if (!ci[0].IsNull() && !ci[0].IsUndefined()) {
            plan = read_plan(e, ci[0], n_embd, n_layer);
            try {
                hooks.require(plan_blocks(plan.get()), "setSteering");
            } catch (const CodedError & err) {
                throw_error(e, err.code, err.what());
            }
        }
        sink->post_plan(std::move(plan));
        return e.Undefined();
    }));
    return out;
}

// clearSequence(seq) → Promise: frees the cells of one sequence.
Napi::Value ContextWrap::clear_sequence(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    const int32_t seq = info[0].As<Napi::Number>().Int32Value();
    if (seq < 0 || seq >= (int32_t) n_seq_) throw_error(env, "ERR_INVALID_ARG", "sequence id " + std::to_string(seq) + " is out of range");
    return run_on_thread<int>(env, *thread_, Value(),
        [this, seq]() { llama_memory_seq_rm(llama_get_memory(ctx_), seq, -1, -1); return 0; },
        [](Napi::Env env, int &) -> Napi::Value { return env.Undefined(); });
}

// setControlVector(data: Float32Array [n_layer * n_embd] indexed by block, or null, ilStart, ilEnd) → Promise
// llama.cpp's stock control vector (llama_set_adapter_cvec), for interop and as an independent
// reference: it starts at block 1, applies to every sequence, and rebuilds the graph on every call.
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

// stats() → Promise<{ graphBuilds, configures, evalCount, reusedGraphs, decodes }>
Napi::Value ContextWrap::stats(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    check_live(env);
    struct S { uint64_t builds, configures, decodes, all_decodes; int32_t n_eval, n_reused; };
    return run_on_thread<S>(env, *thread_, Value(),
        [this]() {
            llama_perf_context_data p = llama_perf_context(ctx_);
            return S{steer_->n_builds(), steer_->n_configures(), engine_->n_decodes(), engine_->n_decodes() + op_decodes_, p.n_eval, p.n_reused};
        },
        [](Napi::Env env, S & s) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("graphBuilds", (double) s.builds);
            o.Set("configures", (double) s.configures);
            o.Set("generationDecodes", (double) s.decodes);
            o.Set("decodes", (double) s.all_decodes);
            o.Set("evalCount", s.n_eval);
            o.Set("reusedGraphs", s.n_reused);
            return o;
        });
}

// dispose() → Promise<void>: ends running generations (stop reason 'abort'), waits for queued
// work, frees.
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
    return run_on_thread<int>(env, *thread_, Value(),
        [this]() {
            free_on_thread();
            return 0;
        },
        [this](Napi::Env env, int &) -> Napi::Value {
            stepper_->stop();
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
