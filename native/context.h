#pragma once
// JS class NativeContext: one llama_context, its own TaskThread, the continuous-batching engine
// that runs its generations, and the operations on it.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "engine.h"
#include "env-state.h"
#include "errors.h"
#include "hook-coverage.h"
#include "model-handle.h"
#include "steer-session.h"
#include "task-thread.h"

namespace ps {

// Schedules engine steps on the context thread: at most one queued at a time, so operations
// posted meanwhile run between steps. Shared with the JavaScript ends of generations, which wake
// it when their consumer catches up; `stop` makes later wakes do nothing.
struct Stepper {
    std::mutex mutex;
    TaskThread * thread = nullptr;
    Engine * engine = nullptr;
    bool queued = false;
    bool stopped = false;
    void wake(const std::shared_ptr<Stepper> & self);
    void stop();
};

class ContextWrap : public Napi::ObjectWrap<ContextWrap>, public Resource {
public:
    static Napi::Function define(Napi::Env env);
    // createContext(model: NativeModel, options) → Promise<NativeContext>
    static Napi::Value create(const Napi::CallbackInfo & info);

    explicit ContextWrap(const Napi::CallbackInfo & info);
    ~ContextWrap() override;
    void teardown() override;

private:
    Napi::Value evaluate(const Napi::CallbackInfo & info);
    Napi::Value generate(const Napi::CallbackInfo & info);
    Napi::Value clear_sequence(const Napi::CallbackInfo & info);
    Napi::Value stats(const Napi::CallbackInfo & info);
    Napi::Value set_control_vector(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);
    Napi::Value info(const Napi::CallbackInfo & info);
    Napi::Value require_hooked_js(const Napi::CallbackInfo & info);

    void check_live(Napi::Env env) const;
    // JS thread: ERR_UNSUPPORTED_ARCH unless every block is hooked (hooks_ is set at creation).
    void require_hooked(Napi::Env env, const std::vector<int32_t> & blocks, const char * what) const;
    void require_hooked(Napi::Env env, const SeqConfig & cfg, const std::vector<int32_t> & reduce, const char * what) const;
    void free_on_thread();

    Napi::Env env_;
    ModelPtr model_;
    Napi::ObjectReference model_ref_;  // the JS Model stays alive as long as this context
    llama_context * ctx_ = nullptr;     // touched on thread_ only (or after it is joined)
    std::unique_ptr<TaskThread> thread_;
    std::unique_ptr<SteerSession> steer_;  // thread only
    std::unique_ptr<Engine> engine_;       // thread only
    HookCoverage hooks_;                   // written once on thread_ before create() resolves
    std::shared_ptr<Stepper> stepper_;
    std::atomic<bool> closing_{false};     // stops running work between decodes
    uint64_t op_decodes_ = 0;              // thread only: llama_decode calls of operations (evaluate)
    bool disposed_ = false;
    int64_t external_bytes_ = 0;
    uint32_t n_ctx_ = 0, n_ctx_seq_ = 0, n_batch_ = 0, n_threads_ = 0, n_seq_ = 1;
};

}  // namespace ps
