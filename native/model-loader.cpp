#include "model-loader.h"

#include "abort-guard.h"
#include "backend.h"
#include "env-state.h"
#include "errors.h"
#include "model-file.h"
#include "model-preflight.h"
#include "model-trial.h"
#include "model.h"
#include "rpc-js.h"
#include "weight-types.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

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
    int32_t max_piece_bytes = 0;
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

// After a load: text through the vocabulary the way every prompt goes, so a vocabulary that
// cannot tokenize (llama.cpp throws or asserts inside) is refused now rather than at first use.
std::string probe_vocab(const llama_model * model) {
    const llama_vocab * vocab = llama_model_get_vocab(model);
    if (llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_NONE) return "";
    std::string text = "Once upon a time,\n\tthere were 2 caf\xc3\xa9s \xe2\x80\x94 \xf0\x9f\x98\x80! <s></s>";
    for (int c = 1; c < 256; c++) text.push_back((char) c);
    std::vector<llama_token> toks(text.size() * 2 + 16);
    try {
        for (bool special : {false, true}) {
            const int32_t n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(), special, special);
            if (n < 0) return "the vocabulary turns " + std::to_string(text.size()) + " bytes of text into more than " + std::to_string(toks.size()) + " tokens";
            char piece[256];
            for (int32_t i = 0; i < n; i++) {
                if (toks[i] < 0 || toks[i] >= llama_vocab_n_tokens(vocab)) return "the vocabulary produced token id " + std::to_string(toks[i]);
                llama_token_to_piece(vocab, toks[i], piece, sizeof(piece), 0, special);
            }
        }
    } catch (const std::exception & e) {
        return std::string("its vocabulary cannot tokenize text: ") + e.what();
    }
    return "";
}

int32_t max_piece_bytes(const llama_model * model) {
    const llama_vocab * vocab = llama_model_get_vocab(model);
    if (llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_NONE) return 0;
    int32_t longest = 1;
    char buf[256];
    for (llama_token t = 0; t < llama_vocab_n_tokens(vocab); t++) {
        const int32_t n = llama_token_to_piece(vocab, t, buf, sizeof(buf), 0, true);
        longest = std::max(longest, n < 0 ? -n : n);
    }
    return longest;
}

// The load itself, on the load thread: open without blocking, pre-flight the metadata, then
// llama.cpp with its assertions turned into errors. Returns the model, or sets `error`.
llama_model * load_checked(LoadJob * job, std::string & error) {
    ModelFile file;
    std::string why = open_model_file(job->path, file);
    if (!why.empty()) { error = why; return nullptr; }
    const bool use_mmap = job->params.load_mode == LLAMA_LOAD_MODE_MMAP;
    PreflightResult pre = preflight_model(file.fp, use_mmap, job->params.vocab_only);
    if (!pre.error.empty()) { error = pre.error; return nullptr; }
    if (!job->params.vocab_only) {
        why = unsupported_weight_type(file.fp);
        if (!why.empty()) { error = why; return nullptr; }
    }
    clear_llama_errors();
    llama_model * model = nullptr;
    try {
        AbortGuard guard;
        // A split model's other parts are found by name; otherwise llama.cpp reads the descriptor
        // checked above, whatever happens to the path meanwhile.
        model = pre.split ? llama_model_load_from_file(job->path.c_str(), job->params)
                          : llama_model_load_from_file_ptr(file.fp, job->params);
        if (model) why = probe_vocab(model);
        if (model && why.empty() && !job->params.vocab_only) why = trial_decode(model);
        if (model && why.empty()) job->max_piece_bytes = max_piece_bytes(model);
    } catch (const std::exception & e) {
        // An assertion outside llama.cpp's own try block (it catches those inside).
        why = e.what();
    }
    if (model && why.empty()) return model;
    std::string reason = take_llama_error_reason();
    if (model) {
        // Loaded, then failed the probe or the trial decode: that failure is the reason.
        llama_model_free(model);
        error = why;
    } else {
        error = reason.empty() ? why : why.empty() ? reason : reason + "; " + why;
    }
    return nullptr;
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
        auto handle = std::make_shared<ModelHandle>(m);
        handle->vocab_only = job->params.vocab_only;
        handle->max_piece_bytes = job->max_piece_bytes;
        job->deferred.Resolve(ModelWrap::wrap(env, std::move(handle), bytes));
    } else if (*job->abort) {
        job->deferred.Reject(make_error(env, codes::ABORTED, "loading " + job->path + " was aborted").Value());
    } else if (!job->error_code.empty()) {
        job->deferred.Reject(make_error(env, job->error_code, "could not load a model from " + job->path + ": " + job->error).Value());
    } else {
        job->deferred.Reject(make_error(env, codes::MODEL_LOAD, "could not load a model from " + job->path + ": " +
                                        (job->error.empty() ? "llama.cpp gave no reason" : job->error)).Value());
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
        job->result = load_checked(job, job->error);
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
