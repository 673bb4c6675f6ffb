#pragma once
// What one generation asks for and what it reports (no N-API).
#include "llama.h"

#include <memory>
#include <string>
#include <vector>

#include "sampling.h"
#include "steer-session.h"

namespace ps {

struct GenerateRequest {
    llama_seq_id seq = 0;
    std::vector<llama_token> prompt;
    int32_t n_keep = 0;          // prompt tokens the sequence's cells already hold (computed under the same plan)
    bool retain = false;         // keep the cells afterwards (a Sequence); otherwise they are freed
    int32_t max_tokens = 256;
    SamplingOptions sampling;
    bool stop_at_eog = true;
    SeqConfig steer;             // plan, monitor, capture of this call
};

struct GenerateSummary {
    std::string stop_reason;  // "eog", "max-tokens", "abort", "context-full"
    int32_t n_prompt = 0;
    int32_t n_cached = 0;     // prompt tokens reused from the sequence's cells (not evaluated)
    int32_t n_generated = 0;
    int32_t n_past = 0;       // positions the sequence's cells hold at the end
    double prompt_ms = 0;
    double generate_ms = 0;
};

std::string token_piece(const llama_vocab * vocab, llama_token token, bool special);

}  // namespace ps
