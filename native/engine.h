#pragma once
// Continuous batching (no N-API): every running generation of a context advances in one
// llama_decode per step. A generation joins between steps (its prompt fed in chunks beside the
// others' next tokens), and leaves when it stops, freeing its sequence's cells unless asked to keep
// them. Each has its own sampler, steering plan, monitor and captures (SteerSession, per sequence).
#include "llama.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "generation.h"
#include "steer-session.h"

namespace ps {

struct GenerationResult {
    GenerateSummary summary;
    std::map<int32_t, BlockRows> captured;         // this sequence's rows only
    std::map<int32_t, BlockRows> prompt_monitor;   // projections of prompt tokens, [n][n_dirs] per block
    uint64_t graph_builds = 0;
};

// Where a generation's events go. Called on the context's thread.
class JobSink {
public:
    virtual ~JobSink() = default;
    virtual bool stop_requested() = 0;
    // True while the consumer has not taken enough tokens: the engine skips the job this step.
    virtual bool blocked() = 0;
    // A plan posted while generating (applied before the next token); false when none.
    virtual bool take_plan(std::shared_ptr<const SteerPlan> & plan) = 0;
    // A sampled token (not end-of-generation); monitor holds [blocks][n_dirs] of the position that picked it;
    // logprobs is empty unless asked for: the token's log-probability, then (id, log-probability) pairs.
    virtual void on_token(llama_token token, std::string piece, std::vector<float> monitor, std::vector<double> logprobs) = 0;
    // Exactly one of these ends the generation.
    virtual void on_done(GenerationResult result) = 0;
    virtual void on_error(const CodedError & error) = 0;
};

class Engine {
public:
    // n_ctx_seq: positions one sequence may hold (the context's per-sequence size).
    Engine(llama_context * ctx, SteerSession & steer, int32_t n_ctx_seq);
    ~Engine();

    // Task thread. Errors in the request end it through sink->on_error.
    void add(GenerateRequest req, std::shared_ptr<JobSink> sink);
    // One llama_decode for every job that can advance. Returns true when another step can run at
    // once (false: no jobs, or every job waits for its consumer).
    bool step();
    bool empty() const { return jobs_.empty(); }
    // Ends every job with stop reason "abort" (dispose).
    void abort_all();
    uint64_t n_decodes() const { return n_decodes_; }

private:
    struct Job;
    void finish(Job & job, const std::string & reason);
    void fail(Job & job, const CodedError & e);
    void release(Job & job);
    void collect(Job & job, int32_t sample_row);

    llama_context * ctx_;
    SteerSession & steer_;
    int32_t n_ctx_seq_;
    int32_t n_layer_;
    const llama_vocab * vocab_;
    std::vector<std::unique_ptr<Job>> jobs_;
    llama_batch batch_;
    uint64_t n_decodes_ = 0;
};

}  // namespace ps
