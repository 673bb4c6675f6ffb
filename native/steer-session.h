#pragma once
// Owns what a context has asked of the residual hooks (no N-API): per sequence, a compiled
// steering plan with the positions it applies to, monitor directions and captured blocks; per
// operation, reduced blocks. Turns their union into the hook's topology (llama_steer_configure,
// only when the shape must grow or change) and values (staged and uploaded by llama_steer_commit,
// never a rebuild), and reads results back after every llama_decode.
//
// Two modes, as the hook has (include/llama-steer.h): a context with one sequence uses the one-plan
// mode (slot 1, switched per phase with set_active); a context with several gives sequence s
// slot s + 1 and maps each token to its sequence's slot inside the graph.
#include "llama.h"

#include <climits>
#include <map>
#include <memory>
#include <vector>

#include "steer-math/plan.h"

namespace ps {

// Where the steering plan applies (docs/api.md, "positions").
enum class SteerPositions { All, Prompt, Generated };

enum class Phase {
    Prompt,      // prompt tokens before the last one
    LastPrompt,  // the last prompt token: its output predicts the first generated token
    Generated,   // tokens the model generated
};

struct SteerPlan {
    CompiledPlan compiled;
    SteerPositions positions = SteerPositions::All;
};

bool plan_active_in(const SteerPlan * plan, Phase phase);

struct MonitorSpec {
    std::vector<int32_t> blocks;                    // sorted, unique
    int32_t n_dirs = 0;
    std::map<int32_t, std::vector<float>> dirs;      // block -> [n_dirs][n_embd], unit rows
};

// What one sequence asks of the hooks while a call runs on it.
struct SeqConfig {
    std::shared_ptr<const SteerPlan> plan;          // null: unsteered
    llama_pos p0 = 0, p1 = INT_MAX;                 // positions the plan applies to (per-sequence mode)
    MonitorSpec monitor;
    std::vector<int32_t> capture;                   // blocks whose rows are captured
};

// Rows read back from one block: captured residuals ([n][n_embd]) or projections ([n][n_monitor]).
struct BlockRows {
    std::vector<float> rows;
    std::vector<int32_t> pos, seq;
};

class SteerSession {
public:
    SteerSession(llama_context * ctx, int32_t n_embd, int32_t n_layer, int32_t n_seq);

    bool per_seq() const { return n_seq_ > 1; }

    // Task thread only. Every setter brings the hook up to date before it returns.
    void set_seq(llama_seq_id seq, SeqConfig cfg);
    void set_plan(llama_seq_id seq, std::shared_ptr<const SteerPlan> plan, llama_pos p0, llama_pos p1);
    void clear_seq(llama_seq_id seq);
    // One-plan mode: switches the plan of sequence 0 on or off (a value upload).
    void set_active(bool active);
    void set_reduce(std::vector<int32_t> blocks, const std::vector<int32_t> & seq, const std::vector<int32_t> & p0,
                    const std::vector<int32_t> & p1);
    void clear_reduce();
    // While held (generations running), the topology only grows: sequences joining and leaving do
    // not rebuild the graph back and forth.
    void hold(bool on);
    // Drops captured and reduced blocks that no sequence or operation wants any more (they cost a
    // copy per decode); called when generations start on an idle context.
    void trim();

    // Sum of masked rows since the last configure/reset, and the number of rows.
    void reduce_reset();
    std::vector<double> reduce_sum(int32_t il, int64_t & n_tokens);

    void after_decode();
    void clear_results();
    const std::map<int32_t, BlockRows> & captured() const { return captured_; }
    const std::map<int32_t, BlockRows> & monitored() const { return monitored_; }
    int32_t n_monitor() const { return shape_.n_monitor; }
    // Columns of the monitor rows holding sequence seq's directions at block il (its order).
    const std::vector<int32_t> & monitor_columns(llama_seq_id seq, int32_t il) const;

    uint64_t n_builds() const;
    uint64_t n_configures() const { return n_configures_; }

private:
    struct Shape {
        int32_t n_slots = 0, n_dirs = 0, n_monitor = 0;
        std::vector<int32_t> steer, capture, reduce, monitor;
        bool operator==(const Shape & o) const {
            return n_slots == o.n_slots && n_dirs == o.n_dirs && n_monitor == o.n_monitor && steer == o.steer &&
                   capture == o.capture && reduce == o.reduce && monitor == o.monitor;
        }
        bool empty() const { return steer.empty() && capture.empty() && reduce.empty() && monitor.empty(); }
        bool covers(const Shape & o) const;
        Shape merged(const Shape & o) const;
    };
    Shape wanted_shape();
    void sync();
    void apply_shape(const Shape & next);
    void stage_steering();
    void stage_monitor();
    int32_t slot_of(llama_seq_id seq) const { return per_seq() ? seq + 1 : 1; }

    llama_context * ctx_;
    int32_t n_embd_, n_layer_, n_seq_;
    std::map<llama_seq_id, SeqConfig> seqs_;
    std::vector<int32_t> reduce_blocks_;
    std::vector<int32_t> reduce_seq_, reduce_p0_, reduce_p1_;
    bool active_ = true;
    bool hold_ = false;

    Shape shape_;
    bool configured_ = false;
    uint64_t n_configures_ = 0;
    // (seq, block) -> columns of its monitor directions in the block's monitor rows
    std::map<std::pair<llama_seq_id, int32_t>, std::vector<int32_t>> monitor_cols_;

    std::map<int32_t, BlockRows> captured_;
    std::map<int32_t, BlockRows> monitored_;
};

}  // namespace ps
