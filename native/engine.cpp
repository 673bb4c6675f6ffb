#include "engine.h"

#include <algorithm>
#include <climits>

namespace ps {

namespace {
using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}
struct SamplerDeleter {
    void operator()(llama_sampler * s) const { llama_sampler_free(s); }
};

// The positions a plan applies to, for a prompt of n_prompt tokens (per-sequence mode).
void plan_range(const SteerPlan * plan, int32_t n_prompt, llama_pos & p0, llama_pos & p1) {
    const SteerPositions where = plan ? plan->positions : SteerPositions::All;
    p0 = where == SteerPositions::Generated ? n_prompt - 1 : 0;
    p1 = where == SteerPositions::Prompt ? n_prompt : INT_MAX;
}
}  // namespace

struct Engine::Job {
    GenerateRequest req;
    std::shared_ptr<JobSink> sink;
    std::unique_ptr<llama_sampler, SamplerDeleter> sampler;
    int32_t n_prompt = 0;
    int32_t n_fed = 0;            // prompt tokens in the cells
    bool generating = false;      // the prompt is in; `pending` waits to be decoded
    bool done = false;
    llama_token pending = -1;
    llama_pos pos = 0;            // position of the next token to decode
    bool all_prompt_outputs = false;
    GenerationResult result;
    std::vector<float> latest;    // monitor values of the newest output row
    Clock::time_point t0, t1;
    bool sampled_once = false;
    // this step
    int32_t sample_row = -1;
    bool prompt_rows = false;
};

Engine::Engine(llama_context * ctx, SteerSession & steer, int32_t n_ctx_seq)
    : ctx_(ctx), steer_(steer), n_ctx_seq_(n_ctx_seq),
      n_layer_(llama_model_n_layer(llama_get_model(ctx))),
      vocab_(llama_model_get_vocab(llama_get_model(ctx))),
      batch_(llama_batch_init((int32_t) llama_n_batch(ctx), 0, 1)) {}

Engine::~Engine() { llama_batch_free(batch_); }

void Engine::add(GenerateRequest req, std::shared_ptr<JobSink> sink) {
    auto job = std::make_unique<Job>();
    job->t0 = Clock::now();
    job->n_prompt = (int32_t) req.prompt.size();
    job->sink = std::move(sink);
    try {
        if (job->n_prompt == 0) throw CodedError(codes::INVALID_ARG, "the prompt must contain at least one token");
        if (job->n_prompt > n_ctx_seq_) {
            throw CodedError(codes::CONTEXT_OVERFLOW, "the prompt has " + std::to_string(job->n_prompt) +
                             " tokens but a sequence of this context holds " + std::to_string(n_ctx_seq_));
        }
        req.n_keep = std::clamp(req.n_keep, 0, job->n_prompt - 1);
        llama_memory_seq_rm(llama_get_memory(ctx_), req.seq, req.n_keep, -1);
        job->n_fed = req.n_keep;
        job->pos = req.n_keep;
        job->sampler.reset(make_sampler_chain(req.sampling, vocab_));
        if (!job->sampler) throw CodedError(codes::INVALID_ARG, "options.grammar must be a GBNF grammar llama.cpp parses");
        const int32_t last = n_layer_ - 1;
        const auto & cap = req.steer.capture;
        job->all_prompt_outputs = std::find(cap.begin(), cap.end(), last) != cap.end() ||
                                  req.steer.monitor.dirs.count(last) > 0;
        plan_range(req.steer.plan.get(), job->n_prompt, req.steer.p0, req.steer.p1);
        steer_.set_seq(req.seq, req.steer);
        if (jobs_.empty()) steer_.trim();
        steer_.hold(true);
    } catch (const CodedError & e) {
        llama_memory_seq_rm(llama_get_memory(ctx_), req.seq, -1, -1);
        job->sink->on_error(e);
        return;
    }
    job->req = std::move(req);
    job->result.summary.n_prompt = job->n_prompt;
    job->result.summary.n_cached = job->n_fed;
    jobs_.push_back(std::move(job));
}

void Engine::release(Job & job) {
    if (!job.req.retain) llama_memory_seq_rm(llama_get_memory(ctx_), job.req.seq, -1, -1);
    try {
        steer_.clear_seq(job.req.seq);
    } catch (const CodedError &) {
        // the next call's configure reports a hook that keeps failing
    }
    job.done = true;
}

void Engine::finish(Job & job, const std::string & reason) {
    const auto now = Clock::now();
    GenerateSummary & s = job.result.summary;
    s.stop_reason = reason;
    s.n_past = job.generating ? job.pos : job.n_fed;
    if (job.sampled_once) {
        s.generate_ms = ms_between(job.t1, now);
    } else {
        s.prompt_ms = ms_between(job.t0, now);
    }
    job.result.graph_builds = steer_.n_builds();
    release(job);
    job.sink->on_done(std::move(job.result));
}

void Engine::fail(Job & job, const CodedError & e) {
    job.req.retain = false;  // the cells may hold half a batch
    release(job);
    job.sink->on_error(e);
}

void Engine::abort_all() {
    for (auto & j : jobs_) {
        if (!j->done) finish(*j, "abort");
    }
    jobs_.clear();
    steer_.hold(false);
}

void Engine::collect(Job & job, int32_t sample_row) {
    const llama_seq_id seq = job.req.seq;
    for (int32_t il : job.req.steer.capture) {
        auto it = steer_.captured().find(il);
        if (it == steer_.captured().end()) continue;
        const BlockRows & src = it->second;
        BlockRows & dst = job.result.captured[il];
        const size_t E = src.pos.empty() ? 0 : src.rows.size() / src.pos.size();
        for (size_t r = 0; r < src.pos.size(); r++) {
            if (src.seq[r] != seq) continue;
            dst.rows.insert(dst.rows.end(), src.rows.begin() + r * E, src.rows.begin() + (r + 1) * E);
            dst.pos.push_back(src.pos[r]);
            dst.seq.push_back(seq);
        }
    }
    const MonitorSpec & spec = job.req.steer.monitor;
    if (spec.n_dirs == 0 || (sample_row < 0 && !job.prompt_rows)) return;
    const size_t K = (size_t) spec.n_dirs;
    const size_t M = (size_t) steer_.n_monitor();
    job.latest.assign(spec.blocks.size() * K, 0.0f);
    for (size_t b = 0; b < spec.blocks.size(); b++) {
        const int32_t il = spec.blocks[b];
        auto it = steer_.monitored().find(il);
        if (it == steer_.monitored().end()) continue;
        const BlockRows & src = it->second;
        const std::vector<int32_t> & cols = steer_.monitor_columns(seq, il);
        BlockRows * dst = job.prompt_rows ? &job.result.prompt_monitor[il] : nullptr;
        for (size_t r = 0; r < src.pos.size(); r++) {
            if (src.seq[r] != seq) continue;
            for (size_t k = 0; k < K && k < cols.size(); k++) job.latest[b * K + k] = src.rows[r * M + cols[k]];
            if (dst) {
                dst->rows.insert(dst->rows.end(), job.latest.begin() + b * K, job.latest.begin() + (b + 1) * K);
                dst->pos.push_back(src.pos[r]);
                dst->seq.push_back(seq);
            }
        }
    }
}

bool Engine::step() {
    // Stops and plan changes take effect before the next token.
    for (auto & jp : jobs_) {
        Job & job = *jp;
        if (job.sink->stop_requested()) { finish(job, "abort"); continue; }
        std::shared_ptr<const SteerPlan> plan;
        if (job.sink->take_plan(plan)) {
            llama_pos p0, p1;
            plan_range(plan.get(), job.n_prompt, p0, p1);
            try {
                steer_.set_plan(job.req.seq, plan, p0, p1);
                job.req.steer.plan = plan;
            } catch (const CodedError & e) {
                fail(job, e);
            }
        }
    }
    jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](const auto & j) { return j->done; }), jobs_.end());
    if (jobs_.empty()) {
        steer_.hold(false);
        return false;
    }

    const bool one_plan = !steer_.per_seq();
    const int32_t n_batch = (int32_t) llama_n_batch(ctx_);
    batch_.n_tokens = 0;
    auto push = [&](llama_token t, llama_pos pos, llama_seq_id seq, bool out) {
        const int32_t k = batch_.n_tokens++;
        batch_.token[k] = t;
        batch_.pos[k] = pos;
        batch_.n_seq_id[k] = 1;
        batch_.seq_id[k][0] = seq;
        batch_.logits[k] = out;
        return k;
    };
    std::vector<Job *> in;
    Phase phase = Phase::Generated;
    // Next tokens first (one each), then prompts in the order they came, chunked to fit.
    for (auto & jp : jobs_) {
        Job & job = *jp;
        job.sample_row = -1;
        job.prompt_rows = false;
        if (!job.generating || job.sink->blocked() || batch_.n_tokens >= n_batch) continue;
        if (one_plan && !in.empty()) break;
        job.sample_row = push(job.pending, job.pos, job.req.seq, true);
        in.push_back(&job);
    }
    for (auto & jp : jobs_) {
        Job & job = *jp;
        if (job.generating || batch_.n_tokens >= n_batch) continue;
        if (one_plan && !in.empty()) break;
        const int32_t remaining = job.n_prompt - job.n_fed;
        int32_t take = std::min(remaining, n_batch - batch_.n_tokens);
        // one plan per context switches per phase between decodes: the last prompt token goes alone
        if (one_plan && remaining > 1) take = std::min(take, remaining - 1);
        for (int32_t i = job.n_fed; i < job.n_fed + take; i++) {
            const bool last = i == job.n_prompt - 1;
            const int32_t k = push(job.req.prompt[i], i, job.req.seq, last || job.all_prompt_outputs);
            if (last) job.sample_row = k;
        }
        phase = job.n_fed + take == job.n_prompt ? Phase::LastPrompt : Phase::Prompt;
        job.prompt_rows = true;
        in.push_back(&job);
    }
    if (in.empty()) return false;  // every job waits for its consumer

    try {
        if (one_plan) steer_.set_active(plan_active_in(in[0]->req.steer.plan.get(), phase));
        steer_.clear_results();
        const int32_t rc = llama_decode(ctx_, batch_);
        n_decodes_++;
        if (rc != 0) {
            throw CodedError(rc == 1 ? codes::CONTEXT_OVERFLOW : codes::DECODE,
                             "llama_decode failed with code " + std::to_string(rc) + (rc == 1 ? " (no room in the context)" : ""));
        }
        steer_.after_decode();
    } catch (const CodedError & e) {
        for (Job * j : in) fail(*j, e);
        jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](const auto & j) { return j->done; }), jobs_.end());
        if (jobs_.empty()) steer_.hold(false);
        return !jobs_.empty();
    }

    // Every job reads its rows of this step before any finishes: finishing one releases its
    // sequence, which re-lays out the monitor columns the others' rows are read with.
    for (Job * jp : in) collect(*jp, jp->sample_row);
    for (Job * jp : in) {
        Job & job = *jp;
        if (job.generating) {
            job.pos++;
        } else {
            // a sequence appears in one place of the batch: count its tokens
            int32_t chunk = 0;
            for (int32_t k = 0; k < batch_.n_tokens; k++) chunk += batch_.seq_id[k][0] == job.req.seq ? 1 : 0;
            job.n_fed += chunk;
            job.pos = job.n_fed;
        }
        if (job.sample_row < 0) continue;
        const auto now = Clock::now();
        if (!job.sampled_once) {
            job.sampled_once = true;
            job.t1 = now;
            job.result.summary.prompt_ms = ms_between(job.t0, now);
        }
        const llama_token tok = llama_sampler_sample(job.sampler.get(), ctx_, job.sample_row);
        if (job.req.stop_at_eog && llama_vocab_is_eog(vocab_, tok)) {
            job.generating = true;
            finish(job, "eog");
            continue;
        }
        job.result.summary.n_generated++;
        // [logprob of tok, then (id, logprob) of the top n_probs tokens]: the model's distribution here
        std::vector<double> probs;
        if (job.req.sampling.n_probs >= 0) {
            const float * logits = llama_get_logits_ith(ctx_, job.sample_row);
            if (logits != nullptr) {
                const TokenLogprobs lp = token_logprobs(logits, llama_vocab_n_tokens(vocab_), tok, job.req.sampling.n_probs);
                probs.reserve(1 + 2 * lp.top.size());
                probs.push_back(lp.logprob);
                for (const auto & [id, v] : lp.top) { probs.push_back(id); probs.push_back(v); }
            }
        }
        job.sink->on_token(tok, token_piece(vocab_, tok, false), job.latest, std::move(probs));
        job.generating = true;
        job.pending = tok;
        if (job.result.summary.n_generated >= job.req.max_tokens) { finish(job, "max-tokens"); continue; }
        if (job.pos >= n_ctx_seq_) { finish(job, "context-full"); continue; }
    }
    jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [](const auto & j) { return j->done; }), jobs_.end());
    if (jobs_.empty()) {
        steer_.hold(false);
        return false;
    }
    for (auto & jp : jobs_) {
        if (!jp->generating || !jp->sink->blocked() || jp->sink->stop_requested()) return true;
    }
    return false;
}

}  // namespace ps
