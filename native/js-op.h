#pragma once
// Runs a piece of work on a context's TaskThread and settles a Promise on the JS thread.
// The JS object that owns the work is referenced until then, so it cannot be collected
// while native code still uses it.
#include <napi.h>

#include <functional>
#include <memory>

#include "env-state.h"
#include "errors.h"
#include "task-thread.h"

namespace ps {

template <typename R>
Napi::Promise run_on_thread(Napi::Env env, TaskThread & thread, Napi::Object owner, std::function<R()> work,
                            std::function<Napi::Value(Napi::Env, R &)> to_js) {
    EnvState & st = EnvState::get(env);
    auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    auto keep = std::make_shared<Napi::ObjectReference>(Napi::Persistent(owner));
    Napi::Promise promise = deferred->Promise();
    st.op_started();
    EnvState * stp = &st;
    bool queued = thread.post([stp, deferred, keep, work = std::move(work), to_js = std::move(to_js)]() mutable {
        auto result = std::make_shared<R>();
        std::string code, message;
        try {
            *result = work();
        } catch (const CodedError & e) {
            code = e.code;
            message = e.what();
        } catch (const std::exception & e) {
            code = codes::NATIVE;
            message = e.what();
        }
        stp->post([stp, deferred, keep, result, code, message, to_js](Napi::Env env) {
            stp->op_finished();
            keep->Reset();
            if (!code.empty()) {
                deferred->Reject(make_error(env, code, message).Value());
                return;
            }
            try {
                deferred->Resolve(to_js(env, *result));
            } catch (const Napi::Error & e) {
                deferred->Reject(e.Value());
            }
        });
    });
    if (!queued) {
        st.op_finished();
        keep->Reset();
        deferred->Reject(make_error(env, codes::DISPOSED, "the context was disposed").Value());
    }
    return promise;
}

}  // namespace ps
