#include "model-loader.h"

#include "backend.h"
#include "env-state.h"
#include "errors.h"
#include "model.h"
#include "rpc-js.h"
#include "weight-types.h"

#include <atomic>
#include <memory>
#include <thread>

namespace ps {

namespace {

// Lives until the JS side has seen the result. The load thread only touches the atomics and
// the plain fields; JS objects are touched on the JS thread only.
struct LoadJob : Resource {
    Napi::Env env;
    std::string path;
    llama_model_params params;
    EnvState * state;
    std::shared_ptr<std::atomic<bool>> abort = std::make_shared<std::atomic<bool>>(false);
    std::atomic<int> last_percent{-1};
    Napi::Promise::Deferred deferred;
    Napi::FunctionReference on_progress;
    std::thread thread;
    llama_model * result = nullptr;
    std::string error;
    std::string error_code;   // set when the failure has a code of its own (ERR_RPC_*)
    RpcLoadOptions rpc;       // rpcServers / tensorSplit (native/rpc-js.h)
    bool settled = false;

    explicit LoadJob(Napi::Env e) : env(e), state(&EnvState::get(e)), deferred(Napi::Promise::Deferred::New(e)) {}

    void teardown() override {
        *abort = true;
        if (thread.joinable()) thread.join();
        if (result) { llama_model_free(result); result = nullptr; }
    }
};

bool progress_cb(float p, void * user) {
    auto * job = static_cast<LoadJob *>(user);
    if (*job->abort) return false;
    const int percent = (int) (p * 100.0f);
    if (!job->on_progress.IsEmpty() && percent != job->last_percent.exchange(percent)) {
        job->state->post([job, p](Napi::Env env) {
            if (!job->settled && !job->on_progress.IsEmpty()) job->on_progress.Call({Napi::Number::New(env, p)});
        });
    }
    return true;
}

void finish(Napi::Env env, LoadJob * raw) {
    // Deleted however this ends: settling the promise throws when JS can no longer run.
    std::unique_ptr<LoadJob> job(raw);
    if (job->thread.joinable()) job->thread.join();
    EnvState & st = EnvState::get(env);
    st.remove(job.get());
    st.op_finished();
    job->settled = true;
    if (job->result) {
        llama_model * m = job->result;
        job->result = nullptr;
        size_t bytes = (size_t) llama_model_size(m);
        job->deferred.Resolve(ModelWrap::wrap(env, std::make_shared<ModelHandle>(m), bytes));
    } else if (*job->abort) {
        job->deferred.Reject(make_error(env, "ERR_ABORTED", "loading " + job->path + " was aborted").Value());
    } else if (!job->error_code.empty()) {
        job->deferred.Reject(make_error(env, job->error_code, "could not load a model from " + job->path + ": " + job->error).Value());
    } else {
        job->deferred.Reject(make_error(env, "ERR_MODEL_LOAD", "could not load a model from " + job->path +
                                        (job->error.empty() ? "" : ": " + job->error)).Value());
    }
    // Progress posts queued before this one have run; later ones cannot exist (thread joined).
}

}  // namespace

Napi::Value load_model(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto * job = new LoadJob(env);
    job->path = info[0].As<Napi::String>().Utf8Value();
    Napi::Object opts = info[1].As<Napi::Object>();
    job->params = llama_model_default_params();
    job->params.n_gpu_layers = opts.Get("gpuLayers").As<Napi::Number>().Int32Value();
    job->params.load_mode = opts.Get("useMmap").As<Napi::Boolean>().Value() ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    job->params.vocab_only = opts.Get("vocabOnly").As<Napi::Boolean>().Value();
    job->params.check_tensors = opts.Get("checkTensors").As<Napi::Boolean>().Value();
    job->params.progress_callback = progress_cb;
    job->params.progress_callback_user_data = job;
    if (info.Length() > 2 && info[2].IsFunction()) job->on_progress = Napi::Persistent(info[2].As<Napi::Function>());
    job->rpc = read_rpc_load_options(opts);

    EnvState & st = EnvState::get(env);
    st.add(job);
    st.op_started();
    Napi::Promise promise = job->deferred.Promise();
    job->thread = std::thread([job]() {
        const RpcError rpc_err = job->rpc.apply(job->params);   // probes RPC servers: may take seconds
        if (!rpc_err.code.empty()) {
            job->error_code = rpc_err.code;
            job->error = rpc_err.message;
            job->state->post([job](Napi::Env env) { finish(env, job); });
            return;
        }
        if (!job->params.vocab_only) job->error = unsupported_weight_type(job->path);
        if (job->error.empty()) {
            job->result = llama_model_load_from_file(job->path.c_str(), job->params);
            if (!job->result) job->error = take_last_llama_error();
        }
        // If the environment is closing, teardown() joins this thread and frees the result.
        job->state->post([job](Napi::Env env) { finish(env, job); });
    });

    Napi::Object out = Napi::Object::New(env);
    out.Set("promise", promise);
    // The abort function may outlive the job, so it shares only the flag.
    std::shared_ptr<std::atomic<bool>> flag = job->abort;
    out.Set("abort", Napi::Function::New(env, [flag](const Napi::CallbackInfo & ci) {
        *flag = true;
        return ci.Env().Undefined();
    }));
    return out;
}

}  // namespace ps
