#pragma once
// llama_backend_init/free are process-wide; environments (main thread, worker threads) share them.
#include <string>

namespace ps {
void backend_acquire();
void backend_release();
// The last error llama.cpp logged on the calling thread, cleared by the call.
std::string take_last_llama_error();
// Forgets this thread's logged errors (before an operation whose failure reason is wanted).
void clear_llama_errors();
// Why the last operation on this thread failed, from every error line llama.cpp logged since the
// last take or clear (generic "failed to load model" lines left out); "" when it logged none.
std::string take_llama_error_reason();
}  // namespace ps
