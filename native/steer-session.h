#pragma once
// Owns what a context has asked of the residual hooks (no N-API): the compiled steering plan,
// its positions, monitor directions, and the capture / reduce blocks of the running operation.
// Decides when the graph's shape must change (llama_steer_configure) and when values can just
// be uploaded (llama_steer_commit), and reads results back after every llama_decode.
#include "llama.h"

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "generation.h"
#include "steer-math/plan.h"

namespace ps {

struct SteerPlan {
    CompiledPlan compiled;
    SteerPositions positions = SteerPositions::All;
};

struct MonitorSpec {
    std::vector<int32_t> blocks;                    // sorted, unique
    int32_t n_dirs = 0;
    std::map<int32_t, std::vector<float>> dirs;      // block -> [n_dirs][n_embd], unit rows
};

struct CaptureSpec {
    std::vector<int32_t> rows;     // blocks whose rows are captured
    std::vector<int32_t> reduce;   // blocks whose masked sums are accumulated
};

// Rows read back from one block: captured residuals ([n][n_embd]) or projections ([n][n_dirs]).
struct BlockRows {
    std::vector<float> rows;
    std::vector<int32_t> pos, seq;
};

class SteerSession {
public:
    SteerSession(llama_context * ctx, int32_t n_embd, int32_t n_layer);

    // Task thread only.
    void set_plan(std::shared_ptr<const SteerPlan> plan);
    void set_monitor(MonitorSpec spec);
    void set_capture(CaptureSpec spec);
    void set_reduce_ranges(const std::vector<int32_t> & seq, const std::vector<int32_t> & p0, const std::vector<int32_t> & p1);
    void reduce_reset();
    // Sum of masked rows since the last reset and the number of rows.
    std::vector<float> reduce_sum(int32_t il, int64_t & n_tokens);
    void enter_phase(Phase phase);
    void after_decode();
    // Results since the last clear_results().
    void clear_results();
    void clear_monitored() { monitored_.clear(); }
    const std::map<int32_t, BlockRows> & captured() const { return captured_; }
    const std::map<int32_t, BlockRows> & monitored() const { return monitored_; }
    const MonitorSpec & monitor_spec() const { return monitor_; }
    uint64_t n_builds() const;
    uint64_t n_configures() const { return n_configures_; }

    // Any thread: a plan to apply before the next decode of a running generation.
    void post_plan(std::shared_ptr<const SteerPlan> plan);
    // Task thread: applies a posted plan, if any. Returns true when one was applied.
    bool take_posted_plan();

private:
    struct Shape {
        int32_t n_units = 0;
        std::vector<int32_t> steer, capture, reduce, monitor;
        int32_t n_monitor = 0;
        bool operator==(const Shape & o) const {
            return n_units == o.n_units && steer == o.steer && capture == o.capture && reduce == o.reduce &&
                   monitor == o.monitor && n_monitor == o.n_monitor;
        }
    };
    Shape wanted_shape() const;
    // Reconfigures when the shape changed, then stages every value and commits.
    void sync();
    void upload_values();
    bool active_for(Phase phase) const;

    llama_context * ctx_;
    int32_t n_embd_, n_layer_;
    std::shared_ptr<const SteerPlan> plan_;
    MonitorSpec monitor_;
    CaptureSpec capture_;
    Shape shape_;
    bool configured_ = false;
    bool active_ = true;
    uint64_t n_configures_ = 0;
    std::vector<int32_t> reduce_seq_, reduce_p0_, reduce_p1_;

    std::map<int32_t, BlockRows> captured_;
    std::map<int32_t, BlockRows> monitored_;

    std::mutex mailbox_mutex_;
    std::shared_ptr<const SteerPlan> mailbox_;
    bool mailbox_full_ = false;
};

}  // namespace ps
