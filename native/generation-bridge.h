#pragma once
// Connects the token loop to steering/monitoring (SteerSession) and to JavaScript (token events).
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "env-state.h"
#include "generation.h"
#include "steer-session.h"

namespace ps {

// What a generation hands back besides the summary.
struct GenerationResult {
    GenerateSummary summary;
    std::map<int32_t, BlockRows> captured;
    std::map<int32_t, BlockRows> prompt_monitor;   // projections of prompt tokens
    uint64_t graph_builds = 0;
};

// Tokens the loop may run ahead of the JavaScript thread. Bounded so that an abort, a stop
// string or a steering change seen in JavaScript catches the loop within a few tokens even when
// the JavaScript thread is busy, and so that a stalled consumer cannot queue unbounded events.
constexpr int kTokenWindow = 4;

struct TokenWindow {
    std::mutex mutex;
    std::condition_variable cv;
    int in_flight = 0;
};

// Tokens that come faster than this are handed to JavaScript together: one wake-up of the
// JavaScript thread per batch instead of per token, which was 5 % of a small model's decode
// thread (docs/benchmarks.md). A token after a slower decode goes at once.
constexpr auto kTokenBatchInterval = std::chrono::microseconds(1000);

struct PendingToken {
    llama_token token;
    std::string piece;
    std::vector<float> monitor;
};

class GenerationBridge : public GenerationHooks {
public:
    // `closing` (the context's dispose flag) stops this generation too, also when a later
    // generate() has replaced the context's per-generation abort flag.
    GenerationBridge(EnvState * env, SteerSession & steer, std::shared_ptr<std::atomic<bool>> abort,
                     std::shared_ptr<Napi::FunctionReference> on_token, const std::atomic<bool> * closing = nullptr);
    bool stop_requested() override { return *abort_ || (closing_ != nullptr && *closing_); }
    void enter_phase(Phase phase) override;
    void after_decode(const llama_batch & batch) override;
    void on_token(llama_token token, const std::string & piece) override;
    // Hands the tokens not yet posted to JavaScript; call when the loop ends, before the result.
    void flush();
    ~GenerationBridge() override;

    std::map<int32_t, BlockRows> prompt_monitor;

private:
    EnvState * env_;
    SteerSession & steer_;
    std::shared_ptr<std::atomic<bool>> abort_;
    std::shared_ptr<Napi::FunctionReference> on_token_;
    const std::atomic<bool> * closing_;
    Phase phase_ = Phase::Prompt;
    std::vector<float> latest_;   // [n_monitor_blocks][n_dirs] for the newest output row
    std::shared_ptr<TokenWindow> window_ = std::make_shared<TokenWindow>();
    std::vector<PendingToken> pending_;   // counted in the window, not yet posted
    std::chrono::steady_clock::time_point last_post_{};
};

}  // namespace ps
