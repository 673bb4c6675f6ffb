#include "steer-session.h"

#include "errors.h"
#include "hook-coverage.h"
#include "llama-steer.h"

#include <algorithm>
#include <string>

namespace ps {

namespace {
std::vector<int32_t> sorted_unique(std::vector<int32_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

void check(int32_t rc, const char * what) {
    if (rc >= 0) return;
    switch (rc) {
        case LLAMA_STEER_ERR_UNSUPPORTED:
            throw CodedError("ERR_UNSUPPORTED_ARCH", std::string(what) + ": this model's architecture has no residual-stream hook");
        case LLAMA_STEER_ERR_BLOCK_RANGE:
            throw CodedError("ERR_INVALID_ARG", std::string(what) + ": a block index is outside the model's blocks");
        case LLAMA_STEER_ERR_ALLOC:
            throw CodedError("ERR_NATIVE", std::string(what) + ": could not allocate the steering buffers");
        default:
            throw CodedError("ERR_NATIVE", std::string(what) + " failed with code " + std::to_string(rc));
    }
}

void append_rows(BlockRows & dst, const float * rows, const llama_pos * pos, const llama_seq_id * seq, int32_t n, int32_t width) {
    dst.rows.insert(dst.rows.end(), rows, rows + (size_t) n * width);
    dst.pos.insert(dst.pos.end(), pos, pos + n);
    dst.seq.insert(dst.seq.end(), seq, seq + n);
}
}  // namespace

SteerSession::SteerSession(llama_context * ctx, int32_t n_embd, int32_t n_layer)
    : ctx_(ctx), n_embd_(n_embd), n_layer_(n_layer) {}

SteerSession::Shape SteerSession::wanted_shape() const {
    Shape s;
    if (plan_ && plan_->compiled.n_units > 0) {
        s.n_units = plan_->compiled.n_units;
        for (const auto & kv : plan_->compiled.blocks) s.steer.push_back(kv.first);
    }
    s.capture = capture_.rows;
    s.reduce = capture_.reduce;
    if (monitor_.n_dirs > 0) {
        s.monitor = monitor_.blocks;
        s.n_monitor = monitor_.n_dirs;
    }
    return s;
}

void SteerSession::sync() {
    Shape want = wanted_shape();
    const bool empty = want.steer.empty() && want.capture.empty() && want.reduce.empty() && want.monitor.empty();
    if (!configured_ || !(want == shape_)) {
        if (empty && !configured_) { shape_ = want; return; }
        if (!empty) {
            const HookCoverage hooks = HookCoverage::of(ctx_);
            hooks.require(want.steer, "steering");
            hooks.require(want.capture, "capture");
            hooks.require(want.reduce, "capture (mean)");
            hooks.require(want.monitor, "monitor");
        }
        llama_steer_config cfg{};
        cfg.n_units = want.n_units;
        cfg.steer_blocks = want.steer.data();
        cfg.n_steer_blocks = (int32_t) want.steer.size();
        cfg.capture_blocks = want.capture.data();
        cfg.n_capture_blocks = (int32_t) want.capture.size();
        cfg.reduce_blocks = want.reduce.data();
        cfg.n_reduce_blocks = (int32_t) want.reduce.size();
        cfg.n_monitor = want.n_monitor;
        cfg.monitor_blocks = want.monitor.data();
        cfg.n_monitor_blocks = (int32_t) want.monitor.size();
        check(llama_steer_configure(ctx_, empty ? nullptr : &cfg), "llama_steer_configure");
        n_configures_++;
        shape_ = want;
        configured_ = !empty;
        active_ = true;
        if (!want.reduce.empty() && !reduce_seq_.empty()) {
            check(llama_steer_set_reduce_ranges(ctx_, reduce_seq_.data(), reduce_p0_.data(), reduce_p1_.data(),
                                                (int32_t) reduce_seq_.size()), "llama_steer_set_reduce_ranges");
        }
    }
    if (configured_) upload_values();
}

void SteerSession::upload_values() {
    if (plan_) {
        for (const auto & [il, p] : plan_->compiled.blocks) {
            check(llama_steer_set_units(ctx_, il, p.w.data(), p.b.data(), p.u.data()), "llama_steer_set_units");
        }
    }
    for (const auto & [il, d] : monitor_.dirs) check(llama_steer_set_monitor(ctx_, il, d.data()), "llama_steer_set_monitor");
    check(llama_steer_commit(ctx_), "llama_steer_commit");
}

// A refused setting (sync throws) leaves the previous one in place, so later calls are unaffected.
void SteerSession::set_plan(std::shared_ptr<const SteerPlan> plan) {
    std::swap(plan_, plan);
    try { sync(); } catch (...) { plan_ = std::move(plan); throw; }
}

void SteerSession::set_monitor(MonitorSpec spec) {
    spec.blocks = sorted_unique(spec.blocks);
    std::swap(monitor_, spec);
    try { sync(); } catch (...) { monitor_ = std::move(spec); throw; }
}

void SteerSession::set_capture(CaptureSpec spec) {
    spec.rows = sorted_unique(spec.rows);
    spec.reduce = sorted_unique(spec.reduce);
    std::swap(capture_, spec);
    try { sync(); } catch (...) { capture_ = std::move(spec); throw; }
}

void SteerSession::set_reduce_ranges(const std::vector<int32_t> & seq, const std::vector<int32_t> & p0, const std::vector<int32_t> & p1) {
    reduce_seq_ = seq;
    reduce_p0_ = p0;
    reduce_p1_ = p1;
    if (configured_ && !shape_.reduce.empty()) {
        check(llama_steer_set_reduce_ranges(ctx_, seq.data(), p0.data(), p1.data(), (int32_t) seq.size()), "llama_steer_set_reduce_ranges");
    }
}

void SteerSession::reduce_reset() {
    if (configured_ && !shape_.reduce.empty()) llama_steer_reduce_reset(ctx_);
}

std::vector<float> SteerSession::reduce_sum(int32_t il, int64_t & n_tokens) {
    n_tokens = 0;
    if (!configured_) return {};
    const float * sum = llama_steer_get_reduce(ctx_, il, &n_tokens);
    if (sum == nullptr) return {};
    return std::vector<float>(sum, sum + n_embd_);
}

bool SteerSession::active_for(Phase phase) const {
    const SteerPositions where = plan_ ? plan_->positions : SteerPositions::All;
    switch (where) {
        case SteerPositions::All: return true;
        case SteerPositions::Prompt: return phase == Phase::Prompt || phase == Phase::LastPrompt;
        case SteerPositions::Generated: return phase != Phase::Prompt;
    }
    return true;
}

void SteerSession::enter_phase(Phase phase) {
    take_posted_plan();
    if (!configured_ || shape_.steer.empty()) return;
    const bool want = active_for(phase);
    if (want != active_) {
        check(llama_steer_set_active(ctx_, want), "llama_steer_set_active");
        check(llama_steer_commit(ctx_), "llama_steer_commit");
        active_ = want;
    }
}

void SteerSession::after_decode() {
    if (!configured_) return;
    for (int32_t il : shape_.capture) {
        const float * rows; const llama_pos * pos; const llama_seq_id * seq;
        int32_t n = llama_steer_get_capture(ctx_, il, &rows, &pos, &seq);
        check(n, "llama_steer_get_capture");
        append_rows(captured_[il], rows, pos, seq, n, n_embd_);
    }
    for (int32_t il : shape_.monitor) {
        const float * proj; const llama_pos * pos; const llama_seq_id * seq;
        int32_t n = llama_steer_get_monitor(ctx_, il, &proj, &pos, &seq);
        check(n, "llama_steer_get_monitor");
        append_rows(monitored_[il], proj, pos, seq, n, shape_.n_monitor);
    }
}

void SteerSession::clear_results() {
    captured_.clear();
    monitored_.clear();
}

uint64_t SteerSession::n_builds() const { return llama_steer_n_builds(ctx_); }

void SteerSession::post_plan(std::shared_ptr<const SteerPlan> plan) {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_ = std::move(plan);
    mailbox_full_ = true;
}

bool SteerSession::take_posted_plan() {
    std::shared_ptr<const SteerPlan> plan;
    {
        std::lock_guard<std::mutex> lock(mailbox_mutex_);
        if (!mailbox_full_) return false;
        plan = std::move(mailbox_);
        mailbox_full_ = false;
    }
    set_plan(std::move(plan));
    return true;
}

}  // namespace ps
