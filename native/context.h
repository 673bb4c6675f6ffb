#pragma once
// JS class NativeContext: one llama_context, its own TaskThread, and the operations on it.
#include <napi.h>

#include <atomic>
#include <memory>

#include "env-state.h"
#include "errors.h"
#include "hook-coverage.h"
#include "model-handle.h"
#include "steer-session.h"
#include "task-thread.h"

namespace ps {

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
    Napi::Value clear(const Napi::CallbackInfo & info);
    Napi::Value configure_steering(const Napi::CallbackInfo & info);
    Napi::Value set_steering(const Napi::CallbackInfo & info);
    Napi::Value read_reduction(const Napi::CallbackInfo & info);
    Napi::Value stats(const Napi::CallbackInfo & info);
    Napi::Value set_control_vector(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);
    Napi::Value info(const Napi::CallbackInfo & info);

    void check_live(Napi::Env env) const;
    // JS thread: ERR_UNSUPPORTED_ARCH unless every block is hooked (hooks_ is set at creation).
    void require_hooked(Napi::Env env, const std::vector<int32_t> & blocks, const char * what) const;
    // Thread: an error from applying a plan outside any operation surfaces at the next one.
    void rethrow_deferred();

    Napi::Env env_;
    ModelPtr model_;
    Napi::ObjectReference model_ref_;  // the JS Model stays alive as long as this context
    llama_context * ctx_ = nullptr;     // touched on thread_ only (or after it is joined)
    std::unique_ptr<TaskThread> thread_;
    std::unique_ptr<SteerSession> steer_;  // touched on thread_ only, except mailbox calls
    HookCoverage hooks_;                   // written once on thread_ before create() resolves
    std::shared_ptr<std::atomic<bool>> gen_abort_;
    std::atomic<bool> closing_{false};       // stops a running evaluate between decodes
    std::unique_ptr<CodedError> deferred_error_;  // thread only
    bool disposed_ = false;
    int64_t external_bytes_ = 0;
    uint32_t n_ctx_ = 0, n_batch_ = 0, n_threads_ = 0;
};

}  // namespace ps
