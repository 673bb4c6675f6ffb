#pragma once
// llama_backend_init/free are process-wide; environments (main thread, worker threads) share them.
#include <string>
#include <vector>

namespace ps {
void backend_acquire();
void backend_release();
// The last error llama.cpp logged on the calling thread, cleared by the call.
std::string take_last_llama_error();

// One registered ggml backend: its name, the library it was loaded from (empty when compiled in)
// and, for the CPU backend of a dynamically loaded build, the variant (libggml-cpu-<variant>).
struct BackendInfo {
    std::string name;
    std::string library;
    std::string variant;
    std::vector<std::pair<std::string, std::string>> features;
};
struct BackendsInfo {
    bool dynamic = false;         // built with GGML_BACKEND_DL
    std::string addon_path;       // this .node
    std::string backend_dir;      // where backends were loaded from (dynamic builds)
    std::vector<BackendInfo> backends;
};
// Loads the backends once per process (dynamic builds) and describes what was registered.
BackendsInfo backends_info();
}  // namespace ps
