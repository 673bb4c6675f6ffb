#pragma once
// The JavaScript end of one generation: hands its tokens to the JavaScript thread in small
// batches, holds the engine back when JavaScript lags (the token window), carries abort and plan
// changes from JavaScript to the engine, and settles the generation's promise.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "engine.h"
#include "env-state.h"

namespace ps {

// Tokens a generation may run ahead of the JavaScript thread. Bounded so that an abort, a stop
// string or a steering change seen in JavaScript catches it within a few tokens even when the
// JavaScript thread is busy, and so that a stalled consumer cannot queue unbounded events. A job
// at the window is skipped by the engine's steps (the others go on) until JavaScript catches up.
constexpr int kTokenWindow = 4;

// Tokens that come faster than this are handed to JavaScript together: one wake-up of the
// JavaScript thread per batch instead of per token (docs/benchmarks.md). A token after a slower
// step goes at once.
constexpr auto kTokenBatchInterval = std::chrono::microseconds(1000);

class JsJobSink : public JobSink, public std::enable_shared_from_this<JsJobSink> {
public:
    // JavaScript thread. `wake` schedules an engine step (any thread); `closing` is the context's
    // dispose flag; `owner` is kept alive until the promise settles.
    JsJobSink(Napi::Env env, Napi::Function on_token, Napi::Object owner, std::function<void()> wake, const std::atomic<bool> * closing);
    ~JsJobSink() override;

    Napi::Promise promise() const { return deferred_->Promise(); }
    // JavaScript thread.
    void abort();
    void post_plan(std::shared_ptr<const SteerPlan> plan);

    // Context thread (JobSink).
    bool stop_requested() override { return aborted_ || (closing_ != nullptr && *closing_); }
    bool blocked() override;
    bool take_plan(std::shared_ptr<const SteerPlan> & plan) override;
    void on_token(llama_token token, std::string piece, std::vector<float> monitor, std::vector<double> logprobs) override;
    void on_done(GenerationResult result) override;
    void on_error(const CodedError & error) override;

private:
    struct Pending {
        llama_token token;
        std::string piece;
        std::vector<float> monitor;
        std::vector<double> logprobs;
    };
    void flush();
    void settle(std::function<void(Napi::Env, Napi::Promise::Deferred &)> how);

    EnvState * env_;
    std::shared_ptr<Napi::FunctionReference> on_token_;
    std::shared_ptr<Napi::ObjectReference> owner_;
    std::shared_ptr<Napi::Promise::Deferred> deferred_;
    std::function<void()> wake_;
    const std::atomic<bool> * closing_;
    std::atomic<bool> aborted_{false};

    std::mutex mutex_;                     // guards in_flight_ and the plan mailbox
    int in_flight_ = 0;                    // tokens posted, not yet delivered
    std::shared_ptr<const SteerPlan> mailbox_;
    bool mailbox_full_ = false;

    std::vector<Pending> pending_;         // context thread: counted in the window, not yet posted
    std::chrono::steady_clock::time_point last_post_{};
    bool settled_ = false;
};

Napi::Value generation_result_to_js(Napi::Env env, GenerationResult & r);

}  // namespace ps
