#pragma once
// Per-environment state (main thread or a worker_thread): the channel that carries results from
// context threads back to JavaScript, and the registry of live handles that the environment
// cleanup hook frees when the environment goes away.
#include <napi.h>

#include <functional>
#include <set>

namespace ps {

class Resource {
public:
    virtual ~Resource() = default;
    // Stop threads and free native memory now; called at environment teardown. Idempotent.
    virtual void teardown() = 0;
};

class EnvState {
public:
    using JsTask = std::function<void(Napi::Env)>;

    static EnvState & get(Napi::Env env);
    static void install(Napi::Env env);

    // From any thread: run `task` on this environment's JS thread. Returns false when the
    // environment is shutting down (the task is dropped).
    bool post(JsTask task);

    // JS thread only: keep the event loop alive while operations are in flight.
    void op_started();
    void op_finished();

    // JS thread: stop every context thread and load thread of this environment and free their
    // native memory now (process 'exit': process.exit() runs C++ static destructors while such
    // threads could still be inside llama.cpp). Handles stay registered; teardown is idempotent.
    void teardown_all();

    void add(Resource * r) { resources_.insert(r); }
    void remove(Resource * r) { resources_.erase(r); }
    bool closing() const { return closing_; }

    Napi::FunctionReference model_ctor;
    Napi::FunctionReference context_ctor;

private:
    explicit EnvState(Napi::Env env);
    static void cleanup(void * self);

    Napi::Env env_;
    Napi::ThreadSafeFunction tsfn_;
    int pending_ = 0;
    bool closing_ = false;
    std::set<Resource *> resources_;
};

}  // namespace ps
