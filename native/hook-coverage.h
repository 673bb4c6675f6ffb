#pragma once
// Which blocks of a context the residual hook reaches (llama_steer_hooked_blocks: decided by
// building the context's graph, not by a list of architectures), and the ERR_UNSUPPORTED_ARCH
// error for any block that it does not reach: a plan, capture, reduction, monitor or control
// vector there would otherwise be silently ignored.
#include "llama.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ps {

struct HookCoverage {
    std::string arch;              // general.architecture
    std::vector<uint8_t> hooked;   // per block

    // Context thread only (builds the context's graph once, then llama.cpp caches the answer).
    static HookCoverage of(llama_context * ctx);

    // Any thread. Throws CodedError ERR_UNSUPPORTED_ARCH naming `what`, the architecture and the
    // blocks among `blocks` that are not hooked.
    void require(const std::vector<int32_t> & blocks, const std::string & what) const;
};

}  // namespace ps
