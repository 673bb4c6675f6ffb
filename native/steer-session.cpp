#include "steer-session.h"

#include "errors.h"
#include "hook-coverage.h"
#include "llama-steer.h"
#include "steer-math/slot-layout.h"

#include <algorithm>
#include <string>

namespace ps {

namespace {
std::vector<int32_t> sorted_unique(std::vector<int32_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

std::vector<int32_t> set_union(const std::vector<int32_t> & a, const std::vector<int32_t> & b) {
    std::vector<int32_t> out(a);
    out.insert(out.end(), b.begin(), b.end());
    return sorted_unique(std::move(out));
}

bool includes(const std::vector<int32_t> & big, const std::vector<int32_t> & small) {
    return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

void check(int32_t rc, const char * what) {
    if (rc >= 0) return;
    switch (rc) {
        case LLAMA_STEER_ERR_UNSUPPORTED:
            throw CodedError(codes::UNSUPPORTED_ARCH, std::string(what) + ": this model's architecture has no residual-stream hook");
        case LLAMA_STEER_ERR_BLOCK_RANGE:
            throw CodedError(codes::INVALID_ARG, std::string(what) + ": a block index is outside the model's blocks");
        case LLAMA_STEER_ERR_ALLOC:
            throw CodedError(codes::NATIVE, std::string(what) + ": could not allocate the steering buffers");
        default:
            throw CodedError(codes::NATIVE, std::string(what) + " failed with code " + std::to_string(rc));
    }
}

void append_rows(BlockRows & dst, const float * rows, const llama_pos * pos, const llama_seq_id * seq, int32_t n, int32_t width) {
    dst.rows.insert(dst.rows.end(), rows, rows + (size_t) n * width);
    dst.pos.insert(dst.pos.end(), pos, pos + n);
    dst.seq.insert(dst.seq.end(), seq, seq + n);
}

const std::vector<int32_t> kNoColumns;
}  // namespace

bool plan_active_in(const SteerPlan * plan, Phase phase) {
    const SteerPositions where = plan ? plan->positions : SteerPositions::All;
    switch (where) {
        case SteerPositions::All: return true;
        case SteerPositions::Prompt: return phase == Phase::Prompt || phase == Phase::LastPrompt;
        case SteerPositions::Generated: return phase != Phase::Prompt;
    }
    return true;
}

bool SteerSession::Shape::covers(const Shape & o) const {
    if (o.empty()) return true;
    return (o.steer.empty() || (n_slots == o.n_slots && n_dirs >= o.n_dirs)) && (o.monitor.empty() || n_monitor >= o.n_monitor) &&
           includes(steer, o.steer) && includes(capture, o.capture) && includes(reduce, o.reduce) && includes(monitor, o.monitor);
}

SteerSession::Shape SteerSession::Shape::merged(const Shape & o) const {
    Shape s;
    s.steer = set_union(steer, o.steer);
    s.capture = set_union(capture, o.capture);
    s.reduce = set_union(reduce, o.reduce);
    s.monitor = set_union(monitor, o.monitor);
    s.n_slots = s.steer.empty() ? 0 : std::max(n_slots, o.n_slots);
    s.n_dirs = s.steer.empty() ? 0 : std::max(n_dirs, o.n_dirs);
    s.n_monitor = s.monitor.empty() ? 0 : std::max(n_monitor, o.n_monitor);
    return s;
}

SteerSession::SteerSession(llama_context * ctx, int32_t n_embd, int32_t n_layer, int32_t n_seq)
    : ctx_(ctx), n_embd_(n_embd), n_layer_(n_layer), n_seq_(std::max(1, n_seq)) {}

SteerSession::Shape SteerSession::wanted_shape() {
    Shape s;
    std::vector<SlotPlan> plans;
    // monitor directions: one column per distinct direction of a block, shared between sequences
    std::map<int32_t, std::vector<const float *>> columns;
    monitor_cols_.clear();
    for (const auto & [seq, cfg] : seqs_) {
        if (cfg.plan) {
            plans.push_back({slot_of(seq), &cfg.plan->compiled});
            for (const auto & kv : cfg.plan->compiled.blocks) s.steer.push_back(kv.first);
        }
        s.capture.insert(s.capture.end(), cfg.capture.begin(), cfg.capture.end());
        for (const auto & [il, d] : cfg.monitor.dirs) {
            s.monitor.push_back(il);
            std::vector<const float *> & cols = columns[il];
            std::vector<int32_t> & mine = monitor_cols_[{seq, il}];
            for (int32_t k = 0; k < cfg.monitor.n_dirs; k++) {
                const float * dir = d.data() + (size_t) k * n_embd_;
                size_t c = 0;
                while (c < cols.size() && !std::equal(dir, dir + n_embd_, cols[c])) c++;
                if (c == cols.size()) cols.push_back(dir);
                mine.push_back((int32_t) c);
            }
        }
    }
    s.steer = sorted_unique(s.steer);
    s.capture = sorted_unique(s.capture);
    s.monitor = sorted_unique(s.monitor);
    s.reduce = reduce_blocks_;
    if (!s.steer.empty()) {
        s.n_slots = per_seq() ? n_seq_ : 1;
        s.n_dirs = dir_capacity(slot_rows_needed(plans));
    }
    for (const auto & kv : columns) s.n_monitor = std::max(s.n_monitor, (int32_t) kv.second.size());
    return s;
}

void SteerSession::sync() {
    Shape want = wanted_shape();
    // A shape that already covers what is wanted stays: calls that come and go (a plan per call,
    // extraction's evaluate per sample) must not rebuild the graph each time; unused parts hold
    // zeros and cost a few ops. While generations run, a new need is merged in, not swapped.
    Shape next = want;
    if (configured_ && shape_.covers(want)) {
        next = shape_;
    } else if (hold_ && configured_) {
        next = shape_.merged(want);
    }
    apply_shape(next);
}

void SteerSession::trim() {
    if (!configured_) return;
    // captured and reduced rows are copied back after every decode: drop the ones nobody wants
    Shape want = wanted_shape();
    Shape next = shape_;
    next.capture = want.capture;
    next.reduce = want.reduce;
    if (!(next == shape_)) apply_shape(next);
}

void SteerSession::apply_shape(const Shape & next) {
    if (!configured_ ? !next.empty() : !(next == shape_)) {
        if (!next.empty()) {
            // a block the graph does not hand to the hook would be silently ignored: refuse it by name
            const HookCoverage hooks = HookCoverage::of(ctx_);
            hooks.require(next.steer, "steering");
            hooks.require(next.capture, "capture");
            hooks.require(next.reduce, "capture (mean)");
            hooks.require(next.monitor, "monitor");
        }
        llama_steer_config cfg{};
        cfg.n_slots = next.n_slots;
        cfg.n_dirs = next.n_dirs;
        cfg.steer_blocks = next.steer.data();
        cfg.n_steer_blocks = (int32_t) next.steer.size();
        cfg.capture_blocks = next.capture.data();
        cfg.n_capture_blocks = (int32_t) next.capture.size();
        cfg.reduce_blocks = next.reduce.data();
        cfg.n_reduce_blocks = (int32_t) next.reduce.size();
        cfg.n_monitor = next.n_monitor;
        cfg.monitor_blocks = next.monitor.data();
        cfg.n_monitor_blocks = (int32_t) next.monitor.size();
        check(llama_steer_configure(ctx_, next.empty() ? nullptr : &cfg), "llama_steer_configure");
        n_configures_++;
        shape_ = next;
        configured_ = !next.empty();
        if (configured_ && !shape_.reduce.empty() && !reduce_seq_.empty()) {
            check(llama_steer_set_reduce_ranges(ctx_, reduce_seq_.data(), reduce_p0_.data(), reduce_p1_.data(),
                                                (int32_t) reduce_seq_.size()), "llama_steer_set_reduce_ranges");
        }
    }
    if (!configured_) return;
    stage_steering();
    stage_monitor();
    check(llama_steer_commit(ctx_), "llama_steer_commit");
}

void SteerSession::stage_steering() {
    if (shape_.steer.empty()) return;
    std::vector<SlotPlan> plans;
    for (const auto & [seq, cfg] : seqs_) {
        if (cfg.plan) plans.push_back({slot_of(seq), &cfg.plan->compiled});
    }
    const SlotLayout layout = layout_slots(plans, n_embd_, shape_.n_dirs);
    const std::vector<float> zero_dirs((size_t) shape_.n_dirs * n_embd_, 0.0f);
    for (int32_t il : shape_.steer) {
        auto bt = layout.blocks.find(il);
        check(llama_steer_set_dirs(ctx_, il, bt != layout.blocks.end() ? bt->second.dirs.data() : zero_dirs.data()), "llama_steer_set_dirs");
        for (int32_t slot = 1; slot <= shape_.n_slots; slot++) {
            const SlotValues * v = nullptr;
            if (bt != layout.blocks.end()) {
                auto it = bt->second.slots.find(slot);
                if (it != bt->second.slots.end()) v = &it->second;
            }
            check(llama_steer_set_slot(ctx_, il, slot, v ? v->c.data() : nullptr, v ? v->lo.data() : nullptr, v ? v->hi.data() : nullptr),
                  "llama_steer_set_slot");
        }
    }
    if (per_seq()) {
        for (llama_seq_id seq = 0; seq < n_seq_; seq++) {
            auto it = seqs_.find(seq);
            const bool on = it != seqs_.end() && it->second.plan;
            check(llama_steer_set_seq(ctx_, seq, on ? slot_of(seq) : 0, on ? it->second.p0 : 0, on ? it->second.p1 : 0), "llama_steer_set_seq");
        }
    } else {
        check(llama_steer_set_active(ctx_, active_), "llama_steer_set_active");
    }
}

void SteerSession::stage_monitor() {
    for (int32_t il : shape_.monitor) {
        std::vector<float> m((size_t) shape_.n_monitor * n_embd_, 0.0f);
        for (const auto & [seq, cfg] : seqs_) {
            auto d = cfg.monitor.dirs.find(il);
            if (d == cfg.monitor.dirs.end()) continue;
            const std::vector<int32_t> & cols = monitor_cols_[{seq, il}];
            for (size_t k = 0; k < cols.size(); k++) {
                std::copy_n(d->second.data() + k * n_embd_, n_embd_, m.begin() + (size_t) cols[k] * n_embd_);
            }
        }
        check(llama_steer_set_monitor(ctx_, il, m.data()), "llama_steer_set_monitor");
    }
}

void SteerSession::set_seq(llama_seq_id seq, SeqConfig cfg) {
    cfg.capture = sorted_unique(cfg.capture);
    cfg.monitor.blocks = sorted_unique(cfg.monitor.blocks);
    if (cfg.plan && cfg.plan->compiled.blocks.empty()) cfg.plan.reset();
    seqs_[seq] = std::move(cfg);
    try {
        sync();
    } catch (...) {
        // a sequence the hook refused leaves nothing behind for the next call
        seqs_.erase(seq);
        try { sync(); } catch (...) {}
        throw;
    }
}

// A refused setting (sync throws) leaves the previous one in place, so later calls are unaffected.
void SteerSession::set_plan(llama_seq_id seq, std::shared_ptr<const SteerPlan> plan, llama_pos p0, llama_pos p1) {
    SeqConfig & cfg = seqs_[seq];
    const SeqConfig before = cfg;
    cfg.plan = plan && !plan->compiled.blocks.empty() ? std::move(plan) : nullptr;
    cfg.p0 = p0;
    cfg.p1 = p1;
    try {
        sync();
    } catch (...) {
        seqs_[seq] = before;
        throw;
    }
}

void SteerSession::clear_seq(llama_seq_id seq) {
    if (seqs_.erase(seq) == 0) return;
    sync();
}

void SteerSession::set_active(bool active) {
    if (active == active_) return;
    active_ = active;
    if (!configured_ || shape_.steer.empty() || per_seq()) return;
    check(llama_steer_set_active(ctx_, active_), "llama_steer_set_active");
    check(llama_steer_commit(ctx_), "llama_steer_commit");
}

void SteerSession::set_reduce(std::vector<int32_t> blocks, const std::vector<int32_t> & seq, const std::vector<int32_t> & p0,
                              const std::vector<int32_t> & p1) {
    std::vector<int32_t> before = reduce_blocks_;
    reduce_blocks_ = sorted_unique(std::move(blocks));
    reduce_seq_ = seq;
    reduce_p0_ = p0;
    reduce_p1_ = p1;
    try {
        sync();
    } catch (...) {
        reduce_blocks_ = std::move(before);
        throw;
    }
    if (configured_ && !shape_.reduce.empty()) {
        check(llama_steer_set_reduce_ranges(ctx_, seq.data(), p0.data(), p1.data(), (int32_t) seq.size()), "llama_steer_set_reduce_ranges");
    }
}

void SteerSession::clear_reduce() {
    reduce_blocks_.clear();
    reduce_seq_.clear();
    reduce_p0_.clear();
    reduce_p1_.clear();
    if (configured_ && !shape_.reduce.empty()) {
        // masked out, so a held shape that keeps the reduce blocks sums nothing
        check(llama_steer_set_reduce_ranges(ctx_, nullptr, nullptr, nullptr, 0), "llama_steer_set_reduce_ranges");
    }
    sync();
}

void SteerSession::hold(bool on) {
    if (hold_ == on) return;
    hold_ = on;
    if (!on) sync();
}

void SteerSession::reduce_reset() {
    if (configured_ && !shape_.reduce.empty()) llama_steer_reduce_reset(ctx_);
}

std::vector<double> SteerSession::reduce_sum(int32_t il, int64_t & n_tokens) {
    n_tokens = 0;
    if (!configured_) return {};
    const float * sum = llama_steer_get_reduce(ctx_, il, &n_tokens);
    if (sum == nullptr) return {};
    return std::vector<double>(sum, sum + n_embd_);
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

const std::vector<int32_t> & SteerSession::monitor_columns(llama_seq_id seq, int32_t il) const {
    auto it = monitor_cols_.find({seq, il});
    return it == monitor_cols_.end() ? kNoColumns : it->second;
}

uint64_t SteerSession::n_builds() const { return llama_steer_n_builds(ctx_); }

}  // namespace ps
