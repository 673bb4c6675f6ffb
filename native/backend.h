#pragma once
// llama_backend_init/free are process-wide; environments (main thread, worker threads) share them.
#include <string>

namespace ps {
void backend_acquire();
void backend_release();
// The last error llama.cpp logged on the calling thread, cleared by the call.
std::string take_last_llama_error();
}  // namespace ps
