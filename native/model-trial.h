#pragma once
// The trial decode: after a model loads, two tokens go through it in a tiny context on one thread,
// the calling thread, inside an AbortGuard. ggml's kernels assert on values the pre-flight check
// cannot foresee for every architecture (a rope section layout, a head size); on the load thread
// such an assertion becomes this function's error and the model is refused, instead of stopping
// the process at the first real decode, where ggml's worker threads run the kernels and nothing
// can catch it. Costs one decode of two tokens at load.
#include <string>

#include "llama.h"

namespace ps {

// "" when the model decodes (or fails with an error code, which later decodes report as
// ERR_DECODE); otherwise what stopped it. Call inside an AbortGuard.
std::string trial_decode(llama_model * model);

}  // namespace ps
