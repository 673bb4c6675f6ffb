#pragma once
// The token loop (no N-API): prompt, then sample / emit / decode until a stop condition.
// Steering, monitoring and streaming plug in through GenerationHooks.
#include "llama.h"

#include <string>
#include <vector>

#include "sampling.h"

namespace ps {

// Where the steering plan applies (docs/api.md, "positions").
enum class SteerPositions { All, Prompt, Generated };

enum class Phase {
    Prompt,      // prompt tokens before the last one
    LastPrompt,  // the last prompt token: its output predicts the first generated token
    Generated,   // tokens the model generated
};

struct GenerateRequest {
    std::vector<llama_token> prompt;
    int32_t max_tokens = 256;
    SamplingOptions sampling;
    bool stop_at_eog = true;
    llama_seq_id seq = 0;
    // Every prompt token produces an output row: the last block's output holds only output rows,
    // so its capture needs this to cover the whole prompt (costs one logits row per token).
    bool prompt_outputs = false;
};

struct GenerateSummary {
    std::string stop_reason;  // "eog", "max-tokens", "abort", "context-full"
    int32_t n_prompt = 0;
    int32_t n_generated = 0;
    double prompt_ms = 0;
    double generate_ms = 0;
};

class GenerationHooks {
public:
    virtual ~GenerationHooks() = default;
    virtual bool stop_requested() = 0;
    // Before the tokens of `phase` are decoded; the place to switch steering on or off and to
    // apply a plan that arrived while generating.
    virtual void enter_phase(Phase phase) = 0;
    // After every llama_decode: read captures and monitor rows of that call.
    virtual void after_decode(const llama_batch & batch) = 0;
    // A sampled token (not end-of-generation); `piece` is its text, possibly part of a UTF-8 character.
    virtual void on_token(llama_token token, const std::string & piece) = 0;
};

// Clears sequence `seq` first. Throws CodedError on decode failures.
GenerateSummary run_generation(llama_context * ctx, const GenerateRequest & req, GenerationHooks & hooks);

std::string token_piece(const llama_vocab * vocab, llama_token token, bool special);

}  // namespace ps
