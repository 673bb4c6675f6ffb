#include "generation-bridge.h"

#include <chrono>

namespace ps {

GenerationBridge::GenerationBridge(EnvState * env, SteerSession & steer, std::shared_ptr<std::atomic<bool>> abort,
                                   std::shared_ptr<Napi::FunctionReference> on_token, const std::atomic<bool> * closing)
    : env_(env), steer_(steer), abort_(std::move(abort)), on_token_(std::move(on_token)), closing_(closing) {}

void GenerationBridge::enter_phase(Phase phase) {
    phase_ = phase;
    steer_.enter_phase(phase);
}

void GenerationBridge::after_decode(const llama_batch &) {
    steer_.after_decode();
    const MonitorSpec & spec = steer_.monitor_spec();
    if (spec.n_dirs == 0) return;
    // Only the newest row matters for the next token; prompt rows are kept for the summary.
    std::map<int32_t, BlockRows> rows = steer_.monitored();
    latest_.assign(spec.blocks.size() * (size_t) spec.n_dirs, 0.0f);
    for (size_t k = 0; k < spec.blocks.size(); k++) {
        const BlockRows & r = rows[spec.blocks[k]];
        if (r.pos.empty()) continue;
        std::copy(r.rows.end() - spec.n_dirs, r.rows.end(), latest_.begin() + k * spec.n_dirs);
        if (phase_ != Phase::Generated) {
            BlockRows & dst = prompt_monitor[spec.blocks[k]];
            dst.rows.insert(dst.rows.end(), r.rows.begin(), r.rows.end());
            dst.pos.insert(dst.pos.end(), r.pos.begin(), r.pos.end());
            dst.seq.insert(dst.seq.end(), r.seq.begin(), r.seq.end());
        }
    }
    steer_.clear_monitored();
}

void GenerationBridge::on_token(llama_token token, const std::string & piece) {
    {
        std::unique_lock<std::mutex> lock(window_->mutex);
        if (window_->in_flight + (int) pending_.size() >= kTokenWindow && !pending_.empty()) {
            // The window is full of tokens JavaScript has not seen yet: hand them over first.
            lock.unlock();
            flush();
            lock.lock();
        }
        // Polls as well as waits: a stop (abort, dispose, environment teardown) must end the wait
        // even when no JavaScript callback will ever run again.
        while (window_->in_flight >= kTokenWindow && !stop_requested()) {
            window_->cv.wait_for(lock, std::chrono::milliseconds(20));
        }
    }
    pending_.push_back({token, piece, latest_});
    if (std::chrono::steady_clock::now() - last_post_ >= kTokenBatchInterval) flush();
}

void GenerationBridge::flush() {
    if (pending_.empty()) return;
    const int n = (int) pending_.size();
    {
        std::lock_guard<std::mutex> lock(window_->mutex);
        window_->in_flight += n;
    }
    last_post_ = std::chrono::steady_clock::now();
    auto cb = on_token_;
    auto window = window_;
    auto batch = std::make_shared<std::vector<PendingToken>>(std::move(pending_));
    pending_.clear();
    const bool posted = env_->post([cb, batch, window, n](Napi::Env env) {
        {
            std::lock_guard<std::mutex> lock(window->mutex);
            window->in_flight -= n;
        }
        window->cv.notify_one();
        for (const PendingToken & t : *batch) {
            if (cb->IsEmpty()) return;
            // One throwing callback must not cost the tokens after it.
            try {
                Napi::Uint8Array bytes = Napi::Uint8Array::New(env, t.piece.size());
                std::copy(t.piece.begin(), t.piece.end(), bytes.Data());
                Napi::Value mon = env.Null();
                if (!t.monitor.empty()) {
                    Napi::Float32Array m = Napi::Float32Array::New(env, t.monitor.size());
                    std::copy(t.monitor.begin(), t.monitor.end(), m.Data());
                    mon = m;
                }
                cb->Call({Napi::Number::New(env, t.token), bytes, mon});
            } catch (const Napi::Error & e) {
                e.Value();
            }
        }
    });
    if (!posted) {
        std::lock_guard<std::mutex> lock(window_->mutex);
        window_->in_flight -= n;
    }
}

GenerationBridge::~GenerationBridge() {
    flush();
}

}  // namespace ps
