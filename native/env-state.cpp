#include "env-state.h"

#include "backend.h"

#include <vector>

namespace ps {

namespace {
void call_js(Napi::Env env, Napi::Function, std::nullptr_t *, EnvState::JsTask * task) {
    if (env != nullptr && task != nullptr) {
        try {
            (*task)(env);
        } catch (const Napi::Error & e) {
            // A throwing continuation must not take the process down from a thread-safe call.
            e.Value();
        }
    }
    delete task;
}
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, EnvState::JsTask, call_js>;
}  // namespace

EnvState::EnvState(Napi::Env env) : env_(env) {}

EnvState & EnvState::get(Napi::Env env) {
    void * data = nullptr;
    napi_get_instance_data(env, &data);
    return *static_cast<EnvState *>(data);
}

void EnvState::install(Napi::Env env) {
    auto * st = new EnvState(env);
    // Never freed: finalizers of wrapped objects may run after the cleanup hook and still ask
    // whether the environment is closing. One small object per environment.
    napi_set_instance_data(env, st, nullptr, nullptr);
    auto tsfn = Tsfn::New(env, "persona-steer", 0, 1);
    tsfn.Unref(env);
    st->tsfn_ = Napi::ThreadSafeFunction(static_cast<napi_threadsafe_function>(tsfn));
    backend_acquire();
    napi_add_env_cleanup_hook(env, &EnvState::cleanup, st);
}

bool EnvState::post(JsTask task) {
    auto * heap = new JsTask(std::move(task));
    napi_status s = napi_call_threadsafe_function(static_cast<napi_threadsafe_function>(tsfn_), heap, napi_tsfn_nonblocking);
    if (s != napi_ok) {
        // Leaked on purpose: the environment is going away, and the task may hold JS references
        // that must not be released from this (non-JS) thread.
        (void) heap;
        return false;
    }
    return true;
}

void EnvState::op_started() {
    if (pending_++ == 0) tsfn_.Ref(env_);
}

void EnvState::op_finished() {
    if (pending_ > 0 && --pending_ == 0) tsfn_.Unref(env_);
}

void EnvState::teardown_all() {
    std::vector<Resource *> all(resources_.begin(), resources_.end());
    for (Resource * r : all) r->teardown();
}

void EnvState::cleanup(void * self) {
    auto * st = static_cast<EnvState *>(self);
    st->closing_ = true;
    // Contexts before models: a context's thread may still use its model.
    std::vector<Resource *> all(st->resources_.begin(), st->resources_.end());
    for (Resource * r : all) r->teardown();
    st->resources_.clear();
    st->tsfn_.Release();
    backend_release();
}

}  // namespace ps
