#include "job-sink.h"

#include "js-rows.h"

namespace ps {

JsJobSink::JsJobSink(Napi::Env env, Napi::Function on_token, Napi::Object owner, std::function<void()> wake,
                     const std::atomic<bool> * closing)
    : env_(&EnvState::get(env)),
      on_token_(std::make_shared<Napi::FunctionReference>(Napi::Persistent(on_token))),
      owner_(std::make_shared<Napi::ObjectReference>(Napi::Persistent(owner))),
      deferred_(std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env))),
      wake_(std::move(wake)),
      closing_(closing) {
    env_->op_started();
}

// JS references are released on the JavaScript thread only: if the generation never settled (the
// environment went away first), they are leaked rather than deleted from this thread.
JsJobSink::~JsJobSink() {
    if (!settled_) {
        new std::shared_ptr<Napi::FunctionReference>(on_token_);
        new std::shared_ptr<Napi::ObjectReference>(owner_);
        new std::shared_ptr<Napi::Promise::Deferred>(deferred_);
    }
}

void JsJobSink::abort() {
    aborted_ = true;
    if (wake_) wake_();
}

void JsJobSink::post_plan(std::shared_ptr<const SteerPlan> plan) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mailbox_ = std::move(plan);
        mailbox_full_ = true;
    }
    if (wake_) wake_();
}

bool JsJobSink::take_plan(std::shared_ptr<const SteerPlan> & plan) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!mailbox_full_) return false;
    plan = std::move(mailbox_);
    mailbox_full_ = false;
    return true;
}

bool JsJobSink::blocked() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (in_flight_ + (int) pending_.size() < kTokenWindow) return false;
    if (!pending_.empty()) {
        // the window is full of tokens JavaScript has not seen yet: hand them over first
        lock.unlock();
        flush();
        lock.lock();
    }
    return in_flight_ >= kTokenWindow;
}

void JsJobSink::on_token(llama_token token, std::string piece, std::vector<float> monitor) {
    pending_.push_back({token, std::move(piece), std::move(monitor)});
    // Half a window at a time: JavaScript takes one half while the next is being decoded, so a fast
    // model does not stop at every window for the JavaScript thread to wake up.
    if (std::chrono::steady_clock::now() - last_post_ >= kTokenBatchInterval || (int) pending_.size() >= kTokenWindow / 2) flush();
}

void JsJobSink::flush() {
    if (pending_.empty()) return;
    const int n = (int) pending_.size();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        in_flight_ += n;
    }
    last_post_ = std::chrono::steady_clock::now();
    auto batch = std::make_shared<std::vector<Pending>>(std::move(pending_));
    pending_.clear();
    auto cb = on_token_;
    std::weak_ptr<JsJobSink> weak = weak_from_this();
    const bool posted = env_->post([cb, batch, weak, n](Napi::Env env) {
        if (auto self = weak.lock()) {
            {
                std::lock_guard<std::mutex> lock(self->mutex_);
                self->in_flight_ -= n;
            }
            // the engine skips a job at its window: tell it there is room again
            if (self->wake_) self->wake_();
        }
        for (const Pending & t : *batch) {
            if (cb->IsEmpty()) return;
            // One throwing callback must not cost the tokens after it.
            try {
                Napi::Uint8Array bytes = Napi::Uint8Array::New(env, t.piece.size());
                std::copy(t.piece.begin(), t.piece.end(), bytes.Data());
                Napi::Value mon = env.Null();
                if (!t.monitor.empty()) mon = to_f32(env, t.monitor);
                cb->Call({Napi::Number::New(env, t.token), bytes, mon});
            } catch (const Napi::Error & e) {
                e.Value();
            }
        }
    });
    if (!posted) {
        std::lock_guard<std::mutex> lock(mutex_);
        in_flight_ -= n;
    }
}

void JsJobSink::settle(std::function<void(Napi::Env, Napi::Promise::Deferred &)> how) {
    if (settled_) return;
    settled_ = true;
    flush();  // every token reaches JavaScript before the result does
    auto deferred = deferred_;
    auto owner = owner_;
    auto cb = on_token_;
    EnvState * st = env_;
    auto self = shared_from_this();  // the wake function and the window stay valid until then
    st->post([st, deferred, owner, cb, how = std::move(how), self](Napi::Env env) {
        st->op_finished();
        how(env, *deferred);
        cb->Reset();
        owner->Reset();
        self->wake_ = nullptr;
    });
}

void JsJobSink::on_done(GenerationResult result) {
    auto r = std::make_shared<GenerationResult>(std::move(result));
    settle([r](Napi::Env env, Napi::Promise::Deferred & d) {
        try {
            d.Resolve(generation_result_to_js(env, *r));
        } catch (const Napi::Error & e) {
            d.Reject(e.Value());
        }
    });
}

void JsJobSink::on_error(const CodedError & error) {
    const std::string code = error.code, message = error.what();
    settle([code, message](Napi::Env env, Napi::Promise::Deferred & d) { d.Reject(make_error(env, code, message).Value()); });
}

Napi::Value generation_result_to_js(Napi::Env env, GenerationResult & r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("stopReason", r.summary.stop_reason);
    o.Set("promptTokens", r.summary.n_prompt);
    o.Set("cachedTokens", r.summary.n_cached);
    o.Set("generatedTokens", r.summary.n_generated);
    o.Set("pastTokens", r.summary.n_past);
    o.Set("promptMs", r.summary.prompt_ms);
    o.Set("generateMs", r.summary.generate_ms);
    o.Set("captures", rows_to_js(env, r.captured));
    o.Set("promptMonitor", rows_to_js(env, r.prompt_monitor));
    o.Set("graphBuilds", (double) r.graph_builds);
    return o;
}

}  // namespace ps
